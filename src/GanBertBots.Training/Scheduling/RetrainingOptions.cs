using GanBertBots.Storage;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Training.Scheduling;

/// <summary>The <c>Retraining</c> section of appsettings.json (environment: <c>Retraining__Cron</c>, ...).</summary>
public sealed class RetrainingOptions
{
    public const string Section = "Retraining";

    /// <summary>Whether the nightly schedule is registered at all (a manual trigger still works).</summary>
    public bool Enabled { get; set; } = true;
    /// <summary>Quartz cron expression (seconds first), in <see cref="TimeZone"/>. Default: every night at 03:00.</summary>
    public string Cron { get; set; } = "0 0 3 * * ?";
    /// <summary>IANA or Windows time zone id for <see cref="Cron"/>; empty for UTC.</summary>
    public string TimeZone { get; set; } = "";
    /// <summary>Where Quartz keeps its schedule: <c>memory</c>, <c>sqlite</c> (single node) or <c>postgres</c> (clustered replicas).</summary>
    public string Store { get; set; } = "sqlite";
    /// <summary>Connection string of the Quartz store. SQLite default: <c>Data Source=data/quartz.db</c>.</summary>
    public string ConnectionString { get; set; } = "";
    /// <summary>Prefix of Quartz's tables (<c>qrtz_</c>).</summary>
    public string TablePrefix { get; set; } = "qrtz_";
    /// <summary>The scheduler's name: every replica of one deployment must use the same one.</summary>
    public string SchedulerName { get; set; } = "ganbertbots";
    /// <summary>This node's id in a cluster; empty generates one (host name + time). Must differ between replicas.</summary>
    public string NodeId { get; set; } = "";
    /// <summary>Clustered (postgres) nodes check in this often; a node silent for longer plus the threshold is presumed dead.</summary>
    public TimeSpan ClusterCheckinInterval { get; set; } = TimeSpan.FromSeconds(15);

    /// <summary>Registry folder (versions and live pointers).</summary>
    public string RegistryRoot { get; set; } = "models/registry";
    /// <summary>Where candidates are trained, off the serving path; each round's folder is removed when it ends.</summary>
    public string ScratchRoot { get; set; } = "models/scratch";

    /// <summary>How often the service checks the registry's live pointers and hot-swaps what changed elsewhere (0 = never).</summary>
    public TimeSpan FollowInterval { get; set; } = TimeSpan.FromSeconds(30);

    /// <summary>Step 1: tweets sampled from the live generator for the detector's generator class.</summary>
    public int Samples { get; set; } = 512;
    /// <summary>The class name of our generator's texts in the detector (default <c>Labels:Generator</c>).</summary>
    public string GeneratorClass { get; set; } = Labels.Default.Generator;
    /// <summary>Share of labelled texts kept out of training for the gate (chosen by content hash: the same texts every round).</summary>
    public double HeldOutFraction { get; set; } = 0.2;
    /// <summary>At most this many unlabelled user texts per round.</summary>
    public int MaxUnlabelled { get; set; } = 20_000;

    /// <summary>Imported corpus texts (real tweets) are labelled texts of this class in every round (default <c>Labels:Human</c>).</summary>
    public string CorpusClass { get; set; } = Labels.Default.Human;
    /// <summary>How much a corpus text counts in the detector's loss (a moderator label counts 1).</summary>
    public double CorpusWeight { get; set; } = 1.0;
    /// <summary>At most this many corpus texts per round (the same ones every round: chosen by content hash).</summary>
    public int MaxCorpus { get; set; } = 5000;
    /// <summary>
    /// Keyword prompts of the generator (sampling, tuning, fool rate); a real tweet's keyword for the MLE term and the
    /// perplexity is the first of these it contains. Empty: <see cref="DefaultKeywords"/>.
    /// </summary>
    public List<string> Keywords { get; set; } = [];
    /// <summary>Where the round's models train and are evaluated: auto (CUDA when available), cpu, cuda, cuda:N. Always float32.</summary>
    public string Device { get; set; } = "auto";
    /// <summary>Tweets each generator samples for its fool rate against the new detector.</summary>
    public int FoolRateSamples { get; set; } = 256;

    /// <summary>Disaster keywords in the style of the disaster-tweets corpus' <c>keyword</c> column (%20 for a space).</summary>
    public static IReadOnlyList<string> DefaultKeywords { get; } =
    [
        "earthquake", "wildfire", "flood", "flooding", "hurricane", "tornado", "typhoon", "tsunami", "landslide", "mudslide",
        "avalanche", "blizzard", "hailstorm", "sandstorm", "drought", "heat%20wave", "volcano", "lava", "fire", "forest%20fire",
        "bush%20fires", "burning%20buildings", "smoke", "explosion", "collapse", "sinkhole", "evacuation", "evacuated", "rescue", "rescuers",
        "emergency", "ambulance", "casualties", "injured", "fatalities", "survivors", "displaced", "refugees", "derailment", "collision",
        "airplane%20accident", "wreckage", "oil%20spill", "chemical%20emergency", "nuclear%20reactor", "outbreak", "quarantine", "storm",
        "thunderstorm", "devastation",
    ];

    /// <summary>The configured keywords, or the default list when none are configured.</summary>
    public IReadOnlyList<string> EffectiveKeywords => Keywords.Count > 0 ? Keywords : DefaultKeywords;

    /// <summary>Gate: the candidate detector's held-out macro-F1 may be at most this much below the live one's.</summary>
    public double MaxMacroF1Drop { get; set; } = 0.02;
    /// <summary>
    /// Gate: a detector's held-out macro-F1 must be above the majority baseline's (always answering the most frequent
    /// class) by more than this; used by the round, <c>train-detector</c> and <c>models register</c>. -1 switches the
    /// check off (tests of the round's mechanics with untrained models).
    /// </summary>
    public double MinMacroF1OverBaseline { get; set; } = Detector.DetectorGate.DefaultMargin;
    /// <summary>Gate: the candidate generator's held-out perplexity may be at most this factor times the live one's.</summary>
    public double MaxPerplexityFactor { get; set; } = 1.10;

    /// <summary>The <c>Retraining</c> section of <paramref name="configuration"/>, changed by <paramref name="configure"/>, validated.</summary>
    public static RetrainingOptions From(IConfiguration configuration, Action<RetrainingOptions>? configure = null)
    {
        // The class names follow the vocabulary unless this section names its own (older configurations).
        var labels = LabelsConfiguration.Read(configuration);
        var options = new RetrainingOptions { GeneratorClass = labels.Generator, CorpusClass = labels.Human };
        configuration.GetSection(Section).Bind(options);
        configure?.Invoke(options);
        options.Validate();
        return options;
    }

    /// <summary>Throws <see cref="ArgumentException"/> naming the bad key.</summary>
    public void Validate()
    {
        string store = Store.ToLowerInvariant();
        if (store is not ("memory" or "sqlite" or "postgres"))
            throw new ArgumentException($"Retraining:Store must be memory, sqlite or postgres (got '{Store}')");
        if (store == "postgres" && string.IsNullOrWhiteSpace(ConnectionString))
            throw new ArgumentException("Retraining:ConnectionString is required with Retraining:Store=postgres");
        try { _ = new Quartz.CronExpression(Cron); }
        catch (FormatException e)
        {
            throw new ArgumentException($"Retraining:Cron '{Cron}' is not a valid Quartz cron expression (e.g. \"0 0 3 * * ?\"): {e.Message}");
        }
        if (!string.IsNullOrWhiteSpace(TimeZone))
        {
            try { TimeZoneInfo.FindSystemTimeZoneById(TimeZone); }
            catch (Exception e) when (e is TimeZoneNotFoundException or InvalidTimeZoneException)
            {
                throw new ArgumentException($"Retraining:TimeZone '{TimeZone}' is not a known time zone id (e.g. Europe/Berlin)");
            }
        }
        if (Samples < 1) throw new ArgumentException("Retraining:Samples must be at least 1");
        if (HeldOutFraction is <= 0 or >= 1) throw new ArgumentException("Retraining:HeldOutFraction must be between 0 and 1");
        if (MaxMacroF1Drop is < 0 or > 1) throw new ArgumentException("Retraining:MaxMacroF1Drop must be between 0 and 1");
        if (MinMacroF1OverBaseline is < -1 or >= 1 || double.IsNaN(MinMacroF1OverBaseline))
            throw new ArgumentException($"Retraining:MinMacroF1OverBaseline must be at least -1 and below 1 (got {MinMacroF1OverBaseline})");
        if (MaxPerplexityFactor < 1) throw new ArgumentException("Retraining:MaxPerplexityFactor must be at least 1");
        if (string.IsNullOrWhiteSpace(CorpusClass)) throw new ArgumentException("Retraining:CorpusClass is empty");
        if (!(CorpusWeight > 0) || !double.IsFinite(CorpusWeight)) throw new ArgumentException("Retraining:CorpusWeight must be a positive number");
        if (MaxCorpus < 0) throw new ArgumentException("Retraining:MaxCorpus must be 0 (no corpus texts) or more");
        if (FoolRateSamples < 1) throw new ArgumentException("Retraining:FoolRateSamples must be at least 1");
        if (Keywords.FirstOrDefault(k => string.IsNullOrWhiteSpace(k) || k.Trim().Contains(' ') || k.Length > 100) is { } keyword)
            throw new ArgumentException($"Retraining:Keywords: '{keyword}' is not a keyword (one word, at most 100 characters; write a space as %20: \"oil%20spill\")");
        if (string.IsNullOrWhiteSpace(RegistryRoot)) throw new ArgumentException("Retraining:RegistryRoot is empty");
        if (string.IsNullOrWhiteSpace(ScratchRoot)) throw new ArgumentException("Retraining:ScratchRoot is empty");
    }

    /// <summary>The connection string for the configured store, with the SQLite default filled in.</summary>
    public string EffectiveConnectionString =>
        string.IsNullOrWhiteSpace(ConnectionString) && Store.Equals("sqlite", StringComparison.OrdinalIgnoreCase)
            ? "Data Source=data/quartz.db"
            : ConnectionString;
}
