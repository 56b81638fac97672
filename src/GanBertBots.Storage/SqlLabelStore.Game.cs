using System.Data.Common;

namespace GanBertBots.Storage;

public abstract partial class SqlLabelStore
{
    /// <summary>Right guesses in a row, newest first, until the first wrong one (guesses from before migration 5 end it too).</summary>
    async Task<int> StreakAsync(DbConnection c, DbTransaction? tx, long userId, CancellationToken ct)
    {
        await using var r = await Command(c, tx, "SELECT correct FROM game_guesses WHERE user_id = @u ORDER BY guessed_at DESC, text_id DESC LIMIT 1000",
            ("u", userId)).ExecuteReaderAsync(ct);
        int streak = 0;
        while (await r.ReadAsync(ct) && !r.IsDBNull(0) && Convert.ToInt64(r.GetValue(0)) == 1) streak++;
        return streak;
    }

    public Task<IReadOnlyList<StoredText>> GetRandomCorpusTextsAsync(int count, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        // random() exists in SQLite and PostgreSQL; a full sort of the known-writer corpus is cheap at its size (thousands).
        return ReadAsync("pick random corpus texts", c => TextListAsync(c,
            $"SELECT {TextColumns} FROM {TextFrom} WHERE t.origin = 'corpus' AND t.written_by IS NOT NULL ORDER BY random() LIMIT @n",
            cancellation, ("n", count)), cancellation);
    }

    public Task<IReadOnlyList<ChatStanding>> GetChatLeaderboardAsync(string chat, int count, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return ReadAsync<IReadOnlyList<ChatStanding>>("read a chat's leaderboard", async c =>
        {
            var board = new List<ChatStanding>();
            await using var r = await Command(c, null,
                "SELECT u.platform, u.platform_user_id, u.display_name, COUNT(*) AS played, SUM(g.correct) AS correct " +
                "FROM game_guesses g JOIN users u ON u.id = g.user_id WHERE g.chat = @chat AND g.correct IS NOT NULL " +
                "GROUP BY u.id, u.platform, u.platform_user_id, u.display_name ORDER BY correct DESC, played ASC, u.id LIMIT @n",
                ("chat", chat), ("n", count)).ExecuteReaderAsync(cancellation);
            while (await r.ReadAsync(cancellation))
                board.Add(new ChatStanding(new UserKey(r.GetString(0), r.GetString(1)), r.IsDBNull(2) ? null : r.GetString(2),
                    Convert.ToInt64(r.GetValue(3)), Convert.ToInt64(r.GetValue(4))));
            return board;
        }, cancellation);
    }
}
