using GanBertBots.Conversation;
using GanBertBots.Inference;
using GanBertBots.Storage;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace GanBertBots.Tests;

/// <summary>
/// The real conversation core, composed by its own <see cref="ConversationServices.AddConversation"/> over the given
/// inference service and store, as the host composes it; the tests' fakes and clocks go in where the host's would.
/// </summary>
public sealed class TestConversation : IConversation
{
    readonly ServiceProvider _services;

    public TestConversation(IInferenceService inference, ILabelStore store, BotOptions options, IModelOperations? operations = null,
        ILogger? logger = null, TimeProvider? clock = null, Random? random = null, Labels? labels = null, ModeratorPolicy? moderators = null)
    {
        var services = new ServiceCollection();
        services.AddSingleton(inference).AddSingleton(store).AddSingleton(options).AddSingleton(labels ?? new Labels());
        if (operations != null) services.AddSingleton(operations);
        if (clock != null) services.AddSingleton(clock);
        if (random != null) services.AddSingleton(random);
        if (moderators != null) services.AddSingleton(moderators);
        services.AddLogging(b => { if (logger != null) b.AddProvider(new OneLogger(logger)); });
        services.AddConversation();
        _services = services.BuildServiceProvider();
        Router = _services.GetRequiredService<ConversationRouter>();
    }

    public ConversationRouter Router { get; }
    public ButtonPayloadCodec Codec => _services.GetRequiredService<ButtonPayloadCodec>();
    public ButtonCheck ButtonCheck => _services.GetRequiredService<ButtonCheck>();
    public ModeratorPolicy Moderators => _services.GetRequiredService<ModeratorPolicy>();
    public T Get<T>() where T : notnull => _services.GetRequiredService<T>();

    public Task HandleMessageAsync(IncomingMessage message, IChatOutput output, CancellationToken cancellationToken) =>
        Router.HandleMessageAsync(message, output, cancellationToken);

    public Task HandleButtonAsync(ButtonPress press, IChatOutput output, CancellationToken cancellationToken) =>
        Router.HandleButtonAsync(press, output, cancellationToken);

    sealed class OneLogger(ILogger logger) : ILoggerProvider
    {
        public ILogger CreateLogger(string categoryName) => logger;
        public void Dispose() { }
    }
}
