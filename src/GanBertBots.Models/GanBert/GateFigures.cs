using System.Globalization;
using System.Text.Json.Nodes;

namespace GanBertBots.Models.GanBert;

/// <summary>
/// What a detector scored on texts it never trained on, against always answering the most frequent class, and what the
/// gate made of it. Stored in the checkpoint (config.json, <c>training.gate</c>) so that <c>models register</c>, the
/// served detector's <c>/stats</c> and a person reading the folder see the figures the decision used.
/// </summary>
/// <param name="Split">Which texts: "held-out" (the test groups), "validation", or a file name.</param>
/// <param name="Forced">The gate refused and <c>--force</c> let it through anyway.</param>
public sealed record GateFigures(
    string Split, int Texts, double Accuracy, double MacroF1,
    string MajorityClass, double BaselineAccuracy, double BaselineMacroF1, double Margin, bool Passed, bool Forced = false)
{
    /// <summary>Key under config.json's <c>training</c> object.</summary>
    public const string ConfigKey = "gate";

    /// <summary>The figures stored in a detector's config: null when it was never gated, or when what is stored there was
    /// written by something else (a field missing or of another type).</summary>
    public static GateFigures? Read(DetectorConfig config) => FromJson(config.Training[ConfigKey]);

    /// <summary>The same figures judged again with another margin.</summary>
    public GateFigures WithMargin(double margin) => this with { Margin = margin, Passed = MacroF1 > BaselineMacroF1 + margin + 1e-12, Forced = false };

    /// <summary>The decision in one line, with the figures it used.</summary>
    public string Describe() => string.Create(CultureInfo.InvariantCulture,
        $"{Split} macro-F1 {MacroF1:0.000} (accuracy {Accuracy:0.000}, {Texts} texts) {(Passed ? "is above" : "is not above")} the majority baseline's {BaselineMacroF1:0.000} (always {MajorityClass}: accuracy {BaselineAccuracy:0.000}) by more than {Margin:0.00}");

    /// <summary>The served detector's track record, for /stats and under every verdict:
    /// "held-out macro-F1 0.61 (majority baseline 0.07), accuracy 0.64 on 200 texts".</summary>
    public string TrackRecord() => string.Create(CultureInfo.InvariantCulture,
        $"{Split} macro-F1 {MacroF1:0.00} (majority baseline {BaselineMacroF1:0.00}), accuracy {Accuracy:0.00} on {Texts} texts{(Forced ? "; let through with --force" : "")}");

    public JsonObject ToJson() => new()
    {
        ["split"] = Split, ["texts"] = Texts, ["accuracy"] = Accuracy, ["macro_f1"] = MacroF1,
        ["majority_class"] = MajorityClass, ["majority_accuracy"] = BaselineAccuracy, ["majority_macro_f1"] = BaselineMacroF1,
        ["margin"] = Margin, ["passed"] = Passed, ["forced"] = Forced,
    };

    public static GateFigures? FromJson(JsonNode? node)
    {
        if (node is not JsonObject o) return null;
        try
        {
            if ((string?)o["split"] is not { } split || (string?)o["majority_class"] is not { } majority) return null;
            return new GateFigures(split, (int)o["texts"]!, (double)o["accuracy"]!, (double)o["macro_f1"]!,
                majority, (double)o["majority_accuracy"]!, (double)o["majority_macro_f1"]!,
                (double)o["margin"]!, (bool)o["passed"]!, (bool?)o["forced"] ?? false);
        }
        catch (Exception e) when (e is InvalidOperationException or FormatException or NullReferenceException)
        {
            return null; // written by something else: not figures the gate can use
        }
    }
}
