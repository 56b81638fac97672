using GanBertBots.Models.GanBert;
using GanBertBots.Models.Hub;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Host.Cli;

/// <summary>Reads <see cref="HubOptions"/> from the "Hub" configuration section (appsettings.json, GANBERTBOTS_Hub__* variables).</summary>
static class HubSettings
{
    public static HubOptions Read(IConfiguration configuration)
    {
        var options = new HubOptions();
        configuration.GetSection("Hub").Bind(options);
        return options;
    }

    /// <summary>Where adapter detectors' base encoders are looked for besides their stored path: the models folder
    /// (Hub:ModelsDirectory). The service and every CLI verb that loads a detector use this one answer.</summary>
    public static BaseEncoderFolders EncoderFolders(IConfiguration configuration) => BaseEncoderFolders.For(Read(configuration).ModelsDirectory);
}
