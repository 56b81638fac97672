using GanBertBots.Bots.Telegram;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Host.Composition;

/// <summary>
/// What one service process runs, decided once from the configuration (and <c>run --console</c>): which adapters, whether
/// the retraining part is wired, and whether it serves HTTP (health, metrics, webhooks) on <c>Host:Urls</c>.
/// </summary>
public sealed record ServiceShape(bool Telegram, bool Discord, bool Console, bool Retraining, string? Urls)
{
    /// <summary>Where the service listens when a bot adapter runs and <c>Host:Urls</c> is not set.</summary>
    public const string DefaultUrls = "http://127.0.0.1:8080";

    /// <summary>A CLI tool's process (<c>retrain --here</c>): the store, the models and retraining, no adapter, no listener.</summary>
    public static readonly ServiceShape Tool = new(Telegram: false, Discord: false, Console: false, Retraining: true, Urls: null);

    /// <summary>Whether any chat adapter runs (and so whether there is anyone to post round reports to).</summary>
    public bool HasAdapters => Telegram || Discord || Console;

    /// <summary>Whether the process has an HTTP listener.</summary>
    public bool Listens => Urls is not null;

    public IEnumerable<string> Adapters =>
        new[] { Telegram ? "telegram" : null, Discord ? "discord" : null, Console ? "console" : null }.OfType<string>();

    /// <summary>
    /// Telegram when <c>Telegram:BotToken</c> is set, Discord when <c>Discord:Enabled</c>; the console chat when neither
    /// (or when asked). Retraining unless <c>Retraining:Enabled</c> is false. A run with a bot adapter listens on
    /// <c>Host:Urls</c> (default <see cref="DefaultUrls"/>); a console-only run listens only where <c>Host:Urls</c> is set.
    /// </summary>
    public static ServiceShape From(IConfiguration configuration, bool forceConsole = false)
    {
        bool telegram = !string.IsNullOrWhiteSpace(configuration[$"{TelegramOptions.Section}:BotToken"]);
        bool discord = IsTrue(configuration["Discord:Enabled"]);
        bool console = forceConsole || (!telegram && !discord);
        bool retraining = !string.Equals(configuration["Retraining:Enabled"]?.Trim(), "false", StringComparison.OrdinalIgnoreCase);
        string? urls = configuration["Host:Urls"];
        if (string.IsNullOrWhiteSpace(urls)) urls = telegram || discord ? DefaultUrls : null;
        return new ServiceShape(telegram, discord, console, retraining, urls);
    }

    static bool IsTrue(string? value) => string.Equals(value?.Trim(), "true", StringComparison.OrdinalIgnoreCase);
}
