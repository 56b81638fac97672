using GanBertBots.Conversation;

namespace GanBertBots.Tests;

/// <summary>
/// The conversation core's commands, built without the services behind them: enough for what a command says about
/// itself (name, help line, menu entry), never to handle a message. Adapter tests build their command menus from these.
/// </summary>
static class CoreCommands
{
    public static IReadOnlyList<ICommand> All() => typeof(ICommand).Assembly.GetTypes()
        .Where(t => typeof(ICommand).IsAssignableFrom(t) && t is { IsAbstract: false, IsInterface: false })
        .Select(t =>
        {
            var constructor = t.GetConstructors().Single();
            var nothing = constructor.GetParameters().Select(p => p.ParameterType.IsValueType ? Activator.CreateInstance(p.ParameterType) : null).ToArray();
            return (ICommand)constructor.Invoke(nothing);
        })
        .ToList();
}
