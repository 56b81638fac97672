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
}
