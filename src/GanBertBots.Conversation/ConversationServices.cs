using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.DependencyInjection.Extensions;

namespace GanBertBots.Conversation;

public static class ConversationServices
{
    /// <summary>
    /// Registers the conversation core: every <see cref="ICommand"/> and <see cref="IButton"/> class of this assembly (a
    /// new command is a new file), the flows they share, the <see cref="ConversationRouter"/> as <see cref="IConversation"/>,
    /// and <see cref="ButtonCheck"/> for adapters that must refuse a button before the core runs (Discord).
    /// The host registers <c>IInferenceService</c>, <see cref="ILabelStore"/>, <see cref="BotOptions"/> and
    /// <see cref="Labels"/>; optional: <see cref="IModelOperations"/>, a <see cref="ModeratorPolicy"/> fed with every
    /// platform's moderators (default: <c>Bots:Moderators</c>), a <see cref="TimeProvider"/> and a <see cref="Random"/> (tests).
    /// </summary>
    public static IServiceCollection AddConversation(this IServiceCollection services)
    {
        services.TryAddSingleton<IModelOperations, ModelOperationsNotAvailable>();
        services.TryAddSingleton(sp => new ModeratorPolicy(sp.GetRequiredService<BotOptions>().Moderators));
        services.TryAddSingleton(TimeProvider.System);
        services.TryAddSingleton(_ => new Random());
        services.AddSingleton(sp =>
        {
            var options = sp.GetRequiredService<BotOptions>();
            options.Validate();
            // An empty secret: a random key per process (buttons stop working on restart).
            string secret = string.IsNullOrEmpty(options.CallbackSecret)
                ? Convert.ToBase64String(System.Security.Cryptography.RandomNumberGenerator.GetBytes(32)) : options.CallbackSecret;
            return new ButtonPayloadCodec(secret, options.ButtonMaxAge, sp.GetRequiredService<TimeProvider>());
        });
        services.AddSingleton(sp => new ChatRateLimit(sp.GetRequiredService<BotOptions>().MessagesPerMinute, sp.GetRequiredService<BotOptions>().Burst));
        services.AddSingleton(sp => new ButtonCheck(sp.GetRequiredService<ButtonPayloadCodec>(), sp.GetRequiredService<ModeratorPolicy>(),
            sp.GetServices<IButton>().Where(b => b.ModeratorOnly).Select(b => b.Kind)));
        services.AddSingleton<ReplyButtons>();
        services.AddSingleton<ClassChoices>();
        services.AddSingleton<TweetWriter>();
        services.AddSingleton<GameRounds>();
        services.AddSingleton<ReviewQueue>();
        services.AddSingleton<SubmittedTexts>();
        services.AddSingleton<FileVerdicts>();
        services.AddSingleton<InlineVerdicts>();

        var handlers = typeof(ConversationServices).Assembly.GetTypes().Where(t => t is { IsClass: true, IsAbstract: false }).OrderBy(t => t.Name);
        foreach (var type in handlers)
        {
            if (typeof(ICommand).IsAssignableFrom(type)) services.AddSingleton(typeof(ICommand), type);
            if (typeof(IButton).IsAssignableFrom(type)) services.AddSingleton(typeof(IButton), type);
        }
        services.AddSingleton<ConversationRouter>();
        services.AddSingleton<IConversation>(sp => sp.GetRequiredService<ConversationRouter>());
        return services;
    }
}
