using GanBertBots.Models;
using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Storage;
using GanBertBots.Training.Detector;
using GanBertBots.Training.Generator;
using GanBertBots.Training.Rounds;
using Microsoft.Extensions.Configuration;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace GanBertBots.Training.Scheduling;

/// <summary>Registers the real steps of the adversarial round: GPT-2 sampling and tuning, GAN-BERT training, the corpus-aware data.</summary>
public static class AdversarialRoundServiceCollectionExtensions
{
    /// <summary>Policy-gradient settings of the generator (<see cref="PolicyGradientOptions"/>).</summary>
    public const string GeneratorSection = RetrainingOptions.Section + ":Generator";
    /// <summary>The detector's round settings (<see cref="RoundDetectorOptions"/>).</summary>
    public const string DetectorSection = RetrainingOptions.Section + ":Detector";

    /// <summary>
    /// Registers, from the <c>Retraining</c> section, the steps <see cref="AddRetraining"/> would otherwise fill with stand-ins
    /// that fail every round: <see cref="Gpt2RoundSteps"/> as <see cref="IGeneratorSampler"/> and <see cref="IGeneratorTrainer"/>
    /// (<see cref="PolicyGradientOptions"/> from <c>Retraining:Generator</c>, keywords from <c>Retraining:Keywords</c>, real tweets
    /// from the corpus), <see cref="RoundDetectorTrainer"/> as <see cref="IDetectorTrainer"/> (<c>Retraining:Detector</c>), and
    /// <see cref="LabelStoreRoundData"/> with the corpus as <see cref="IRoundDataSource"/>. Both models train on
    /// <c>Retraining:Device</c> in float32. Call before <c>AddRetraining</c>; <see cref="ILabelStore"/> must be registered.
    /// Throws <see cref="ArgumentException"/> naming the bad key.
    /// </summary>
    public static IServiceCollection AddAdversarialRoundSteps(this IServiceCollection services, IConfiguration configuration,
        Action<RetrainingOptions>? configure = null)
    {
        var options = RetrainingOptions.From(configuration, configure);
        var tuning = Checked(GeneratorSection, () =>
        {
            var bound = configuration.GetSection(GeneratorSection).Get<PolicyGradientOptions>() ?? new PolicyGradientOptions();
            bound.Validate();
            return bound;
        });
        var detector = Checked(DetectorSection, () =>
        {
            var bound = new RoundDetectorOptions();
            configuration.GetSection(DetectorSection).Bind(bound);
            bound.Validate();
            return bound;
        });
        TorchPlacement placement;
        try { placement = TorchPlacement.Resolve(options.Device, "float32"); }
        catch (UserFacingException e) { throw new ArgumentException($"Retraining:Device: {e.Message}", e); }

        // AddRetraining registers its own (configured) copy later; the last registration is the one resolved.
        services.TryAddSingleton(options);
        services.AddSingleton(tuning);
        services.AddSingleton(detector);
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<RetrainingOptions>();
            return new CorpusTweets(sp.GetRequiredService<ILabelStore>(), o.HeldOutFraction, o.MaxCorpus, o.CorpusClass, o.CorpusWeight);
        });
        services.AddSingleton<IRoundDataSource>(sp =>
        {
            var o = sp.GetRequiredService<RetrainingOptions>();
            return new LabelStoreRoundData(sp.GetRequiredService<ILabelStore>(), o.HeldOutFraction, o.MaxUnlabelled, sp.GetRequiredService<CorpusTweets>());
        });
        services.AddSingleton(sp =>
        {
            var o = sp.GetRequiredService<RetrainingOptions>();
            var corpus = sp.GetRequiredService<CorpusTweets>();
            var keywords = o.EffectiveKeywords;
            return new Gpt2RoundSteps(keywords, cancellation => corpus.LoadRealTweetsAsync(keywords, cancellation),
                sp.GetRequiredService<PolicyGradientOptions>(), placement, o.FoolRateSamples, sp.GetService<BaseEncoderFolders>());
        });
        services.AddSingleton<IGeneratorSampler>(sp => sp.GetRequiredService<Gpt2RoundSteps>());
        services.AddSingleton<IGeneratorTrainer>(sp => sp.GetRequiredService<Gpt2RoundSteps>());
        services.AddSingleton(sp => new RoundDetectorTrainer(sp.GetRequiredService<RoundDetectorOptions>(), placement, sp.GetService<BaseEncoderFolders>()));
        services.AddSingleton<IDetectorTrainer>(sp => sp.GetRequiredService<RoundDetectorTrainer>());
        return services;
    }

    /// <summary>Binds and validates one section; a failure (bad value, out of range) names the section.</summary>
    static T Checked<T>(string section, Func<T> bind)
    {
        try { return bind(); }
        catch (Exception e) when (e is ArgumentException or InvalidOperationException)
        {
            throw e.Message.Contains(section, StringComparison.Ordinal) && e is ArgumentException ? e : new ArgumentException($"{section}: {e.Message}", e);
        }
    }
}
