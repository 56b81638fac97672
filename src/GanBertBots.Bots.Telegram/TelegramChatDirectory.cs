using System.Globalization;
using GanBertBots.Conversation;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;
using Telegram.Bot;

namespace GanBertBots.Bots.Telegram;

/// <summary>
/// Telegram chats the core can post to unprompted (round reports). A chat id is Telegram's numeric id: negative for
/// groups and channels (paced as groups), positive for private chats, where it equals the person's user id. Sends go
/// through the bot's <see cref="TelegramOutbox"/>, so they share its pacing with the answers. Telegram refuses
/// (403) a private chat whose person never started the bot or blocked it.
/// </summary>
public sealed class TelegramChatDirectory(ITelegramBotClient bot, TelegramOutbox outbox, TelegramOptions options) : IChatDirectory
{
    public TelegramChatDirectory(TelegramBotService service, TelegramOptions options) : this(service.Client, service.Outbox, options) { }

    public string Platform => TelegramUpdateRouter.Platform;

    public Task<IChatOutput> OpenChatAsync(string chatId, CancellationToken cancellationToken)
    {
        if (!long.TryParse(chatId, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out long id) || id == 0)
            throw new ArgumentException($"'{chatId}' is not a Telegram chat id (a number, negative for groups)");
        return Task.FromResult<IChatOutput>(new TelegramChatOutput(bot, outbox, options, id, isGroup: id < 0));
    }

    public Task<IChatOutput> OpenPrivateChatAsync(string userId, CancellationToken cancellationToken)
    {
        if (!long.TryParse(userId, NumberStyles.None, CultureInfo.InvariantCulture, out long id) || id <= 0)
            throw new ArgumentException($"'{userId}' is not a Telegram user id (a positive number)");
        return OpenChatAsync(userId, cancellationToken);
    }
}

/// <summary>Composition of the Telegram adapter for the generic host.</summary>
public static class TelegramBotServices
{
    public const string HttpClientName = "telegram";

    /// <summary>Adds the bot on <paramref name="options"/> (see <see cref="AddTelegramBot(IServiceCollection)"/>).</summary>
    public static IServiceCollection AddTelegramBot(this IServiceCollection services, TelegramOptions options)
    {
        services.AddSingleton(options);
        return services.AddTelegramBot();
    }

    /// <summary>
    /// Adds the bot (long polling or webhook) as a hosted service and its <see cref="IChatDirectory"/>, on the
    /// <see cref="TelegramOptions"/> registered by the host. The host must have registered the conversation core as
    /// <see cref="IConversation"/>; in webhook mode it maps <see cref="TelegramWebhookEndpoint.MapTelegramWebhook"/>.
    /// </summary>
    public static IServiceCollection AddTelegramBot(this IServiceCollection services)
    {
        // The Bot API client's HTTP through the factory (pooled handlers, DNS refresh), as Telegram.Bot's hosting examples
        // do. No generic retry handler: 429s carry retry_after in the body and are waited out by the outbox and the poll
        // loop, and a blind retry of sendMessage after a timeout could post a message twice.
        services.AddHttpClient(HttpClientName).ConfigureHttpClient((sp, http) =>
            http.Timeout = TimeSpan.FromSeconds(sp.GetRequiredService<TelegramOptions>().PollingTimeoutSeconds + 30));
        services.AddSingleton(sp => new TelegramBotService(sp.GetRequiredService<TelegramOptions>(), sp.GetRequiredService<IConversation>(),
            sp.GetRequiredService<ILogger<TelegramBotService>>(), sp.GetRequiredService<IHttpClientFactory>().CreateClient(HttpClientName),
            sp.GetService<InlineVerdicts>(), new TelegramCommandMenu(sp.GetServices<ICommand>(), sp.GetService<ModeratorPolicy>() ?? new ModeratorPolicy([]))));
        services.AddHostedService(sp => sp.GetRequiredService<TelegramBotService>());
        services.AddSingleton<IChatDirectory>(sp => new TelegramChatDirectory(sp.GetRequiredService<TelegramBotService>(),
            sp.GetRequiredService<TelegramOptions>()));
        return services;
    }
}
