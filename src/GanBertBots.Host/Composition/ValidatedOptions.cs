using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Options;

namespace GanBertBots.Host.Composition;

/// <summary>
/// Binds an options class to its configuration section, checks it with the class's own <c>Validate()</c> (whose
/// <see cref="ArgumentException"/> names the key and the allowed values) when the host starts, and registers the
/// checked value itself as a singleton for the parts that take it in their constructors.
/// </summary>
public static class ValidatedOptions
{
    public static OptionsBuilder<T> AddValidatedOptions<T>(this IServiceCollection services, string section, Action<T> validate)
        where T : class
    {
        var builder = services.AddOptions<T>().BindConfiguration(section);
        services.AddSingleton<IValidateOptions<T>>(new ValidateByMethod<T>(validate));
        builder.ValidateOnStart();
        services.AddSingleton(sp => sp.GetRequiredService<IOptions<T>>().Value);
        return builder;
    }

    sealed class ValidateByMethod<T>(Action<T> validate) : IValidateOptions<T> where T : class
    {
        public ValidateOptionsResult Validate(string? name, T options)
        {
            try
            {
                validate(options);
                return ValidateOptionsResult.Success;
            }
            catch (ArgumentException e)
            {
                return ValidateOptionsResult.Fail(e.Message);
            }
        }
    }
}
