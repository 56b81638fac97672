using GanBertBots.Host.Cli;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Tests.Retraining;

/// <summary>Runs the <c>ganbertbots</c> CLI in-process on in-memory settings.</summary>
static class CliRun
{
    public static async Task<(int Code, string Out, string Error)> RunAsync(IDictionary<string, string?> settings, params string[] args)
    {
        var configuration = new ConfigurationBuilder().AddInMemoryCollection(settings).Build();
        var output = new StringWriter();
        var error = new StringWriter();
        return (await CliApp.RunAsync(args, output, error, configuration), output.ToString(), error.ToString());
    }
}
