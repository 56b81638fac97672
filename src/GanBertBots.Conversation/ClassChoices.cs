using GanBertBots.Inference;
using GanBertBots.Storage;

namespace GanBertBots.Conversation;

/// <summary>The classes offered for labelling: the served detector's, or <c>Labels:Classes</c> while none is loaded.</summary>
public sealed class ClassChoices(IInferenceService inference, Labels labels)
{
    public Labels Labels => labels;
    public IReadOnlyList<string> Current => inference.DetectorClasses.Count > 0 ? inference.DetectorClasses : labels.Classes;
    public bool Contains(string? label) => label is not null && Current.Contains(label);
}
