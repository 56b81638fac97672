using GanBertBots.Storage;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Training.Scheduling;

/// <summary>Reads the class vocabulary (<see cref="Labels"/>) from configuration, the one place every part takes it from.</summary>
public static class LabelsConfiguration
{
    /// <summary>
    /// The <c>Labels</c> section over the defaults. <c>Labels:Classes</c> replaces the default list (the binder would
    /// append to it); the older key <c>Bots:Classes</c> still counts when <c>Labels:Classes</c> is absent. Validated:
    /// throws <see cref="ArgumentException"/> naming the key.
    /// </summary>
    public static Labels Read(IConfiguration configuration)
    {
        var section = configuration.GetSection(Labels.Section);
        var labels = new Labels
        {
            Human = section["Human"] is { Length: > 0 } human ? human.Trim() : Labels.Default.Human,
            Generator = section["Generator"] is { Length: > 0 } generator ? generator.Trim() : Labels.Default.Generator,
        };
        var classes = section.GetSection("Classes").Get<List<string>>() ?? configuration.GetSection("Bots:Classes").Get<List<string>>();
        if (classes is { Count: > 0 }) labels.Classes = classes.Select(c => c.Trim()).ToList();
        labels.Validate();
        return labels;
    }
}
