using System.Data.Common;

namespace GanBertBots.Storage;

public abstract partial class SqlLabelStore
{
    // What a person takes back with /forget, in one transaction:
    // - the texts they submitted (origin user_submitted), with every prediction, label, skip and guess on them,
    //   moderators' labels included: the text is gone, so is what was said about it;
    // - every label, game guess, review skip and game score they gave on any other text;
    // - their user row. Tweets our generator wrote at their request stay (they are the model's text, and other people
    //   may have judged them) but lose the link to the person and to their chat. Corpus texts are nobody's: untouched.
    const string TheirTexts = "SELECT id FROM texts WHERE submitted_by = @u AND origin = 'user_submitted'";

    public Task<ForgetReport> ForgetUserAsync(UserKey user, CancellationToken cancellation = default) =>
        WriteAsync("forget a person", async (c, tx) =>
        {
            object? found = await Command(c, tx, "SELECT id FROM users WHERE platform = @p AND platform_user_id = @id",
                ("p", user.Platform), ("id", user.PlatformUserId)).ExecuteScalarAsync(cancellation);
            if (found is null or DBNull) return new ForgetReport(0, 0, 0);
            long id = Convert.ToInt64(found);
            async Task<int> Run(string sql) => await Command(c, tx, sql, ("u", id)).ExecuteNonQueryAsync(cancellation);

            int labels = Convert.ToInt32(await Command(c, tx, "SELECT COUNT(*) FROM labels WHERE user_id = @u", ("u", id)).ExecuteScalarAsync(cancellation));
            int guesses = Convert.ToInt32(await Command(c, tx, "SELECT COUNT(*) FROM game_guesses WHERE user_id = @u", ("u", id)).ExecuteScalarAsync(cancellation));
            await Run($"DELETE FROM predictions WHERE text_id IN ({TheirTexts})");
            await Run($"DELETE FROM labels WHERE user_id = @u OR text_id IN ({TheirTexts})");
            await Run($"DELETE FROM review_skips WHERE user_id = @u OR text_id IN ({TheirTexts})");
            await Run($"DELETE FROM game_guesses WHERE user_id = @u OR text_id IN ({TheirTexts})");
            int texts = await Run("DELETE FROM texts WHERE submitted_by = @u AND origin = 'user_submitted'");
            await Run("UPDATE texts SET submitted_by = NULL, chat_id = NULL, message_id = NULL WHERE submitted_by = @u");
            await Run("DELETE FROM game_scores WHERE user_id = @u");
            await Run("DELETE FROM users WHERE id = @u");
            return new ForgetReport(texts, labels, guesses);
        }, cancellation);

    // Retention: a submitted text nobody labelled, older than the cutoff, goes with its predictions, skips and guesses.
    const string Expired = "SELECT id FROM texts t WHERE t.origin = 'user_submitted' AND t.created_at < @before " +
                           "AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.text_id = t.id)";

    public Task<int> PurgeUnlabelledSubmittedTextsAsync(DateTimeOffset before, CancellationToken cancellation = default) =>
        WriteAsync("purge old unlabelled texts", async (c, tx) =>
        {
            object at = TimeValue(before);
            foreach (var table in new[] { "predictions", "review_skips", "game_guesses" })
                await Command(c, tx, $"DELETE FROM {table} WHERE text_id IN ({Expired})", ("before", at)).ExecuteNonQueryAsync(cancellation);
            return await Command(c, tx, $"DELETE FROM texts WHERE id IN ({Expired})", ("before", at)).ExecuteNonQueryAsync(cancellation);
        }, cancellation);
}
