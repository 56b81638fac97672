using System.Data;
using System.Data.Common;
using System.Runtime.CompilerServices;
using System.Text;
using System.Text.Json;
using GanBertBots.Common;

namespace GanBertBots.Storage;

// Long on purpose: every query of the label store in the one SQL both engines speak, next to each other so the schema's use is visible in one place.

/// <summary>
/// The label store in SQL that SQLite (3.35+) and PostgreSQL both speak: <c>INSERT ... ON CONFLICT</c>,
/// <c>RETURNING</c>, <c>@name</c> parameters. The two subclasses supply connections, the column types of the
/// schema, how times are stored, which failures are transient, and the migration lock.
/// </summary>
public abstract partial class SqlLabelStore : ILabelStore
{
    protected StorageOptions Options { get; }
    protected TimeProvider Clock { get; }

    protected SqlLabelStore(StorageOptions options, TimeProvider? clock)
    {
        Options = options;
        Clock = clock ?? TimeProvider.System;
    }

    public abstract string Provider { get; }

    // ------------------------------------------------------------------ what a provider supplies

    /// <summary>An open connection, configured (pragmas and the like).</summary>
    protected abstract Task<DbConnection> OpenConnectionAsync(CancellationToken cancellation);
    /// <summary>Worth trying again: busy, deadlock, serialization failure, dropped connection.</summary>
    protected abstract bool IsTransient(Exception e);
    /// <summary>The database cannot be reached or opened at all.</summary>
    protected abstract bool IsUnavailable(Exception e);
    /// <summary>Column types substituted into <see cref="Schema.Migrations"/>.</summary>
    protected abstract Schema.ColumnTypes Types { get; }
    protected abstract object TimeValue(DateTimeOffset time);
    protected abstract DateTimeOffset ReadTime(DbDataReader reader, int ordinal);
    /// <summary>Before migrating: make sure only one process migrates (PostgreSQL: advisory lock).</summary>
    protected virtual Task BeforeMigrationsAsync(DbConnection connection, CancellationToken cancellation) => Task.CompletedTask;
    protected virtual Task AfterMigrationsAsync(DbConnection connection, CancellationToken cancellation) => Task.CompletedTask;

    public abstract ValueTask DisposeAsync();

    // ------------------------------------------------------------------ migrations

    public async Task<int> MigrateAsync(CancellationToken cancellation = default)
    {
        var migrations = Schema.Migrations;
        int latest = migrations[^1].Version;
        return await WithRetryAsync("migrate the schema", async () =>
        {
            await using var connection = await OpenConnectionAsync(cancellation);
            await BeforeMigrationsAsync(connection, cancellation);
            try
            {
                await Execute(connection, null, Schema.VersionTable(Types), cancellation);
                int current = await CurrentVersionAsync(connection, null, cancellation);
                if (current > latest)
                    throw new StorageException(
                        $"the {Provider} database has schema version {current}, newer than this build knows (up to {latest}); " +
                        "refusing to run against it. Upgrade ganbertbots, or point Storage:ConnectionString at another database.");
                foreach (var migration in migrations.Where(m => m.Version > current))
                {
                    await using var tx = await connection.BeginTransactionAsync(cancellation);
                    // Another process may have applied it meanwhile (SQLite has no advisory lock; its write lock serialises here).
                    if (await CurrentVersionAsync(connection, tx, cancellation) >= migration.Version) { await tx.RollbackAsync(cancellation); continue; }
                    await Execute(connection, tx, migration.Sql(Types), cancellation);
                    await Command(connection, tx,
                        "INSERT INTO schema_version (version, name, applied_at) VALUES (@v, @n, @t)",
                        ("v", migration.Version), ("n", migration.Name), ("t", TimeValue(Clock.GetUtcNow())))
                        .ExecuteNonQueryAsync(cancellation);
                    await tx.CommitAsync(cancellation);
                }
                return await CurrentVersionAsync(connection, null, cancellation);
            }
            finally
            {
                await AfterMigrationsAsync(connection, CancellationToken.None);
            }
        }, cancellation);
    }

    async Task<int> CurrentVersionAsync(DbConnection c, DbTransaction? tx, CancellationToken ct)
    {
        object? v = await Command(c, tx, "SELECT MAX(version) FROM schema_version").ExecuteScalarAsync(ct);
        return v is null or DBNull ? 0 : Convert.ToInt32(v);
    }

    /// <summary>The applied migrations, for tests and diagnostics.</summary>
    public Task<IReadOnlyList<int>> GetAppliedVersionsAsync(CancellationToken cancellation = default) =>
        ReadAsync<IReadOnlyList<int>>("read the schema version", async c =>
        {
            var versions = new List<int>();
            await using var r = await Command(c, null, "SELECT version FROM schema_version ORDER BY version").ExecuteReaderAsync(cancellation);
            while (await r.ReadAsync(cancellation)) versions.Add(Convert.ToInt32(r.GetValue(0)));
            return versions;
        }, cancellation);

    // ------------------------------------------------------------------ texts

    const string TextColumns =
        "t.id, t.content, t.content_hash, t.origin, t.message_platform, t.chat_id, t.message_id, su.platform, su.platform_user_id, " +
        "t.model_version, t.generation_settings, t.corpus_name, t.corpus_label, t.created_at, t.written_by";
    const string TextFrom = "texts t LEFT JOIN users su ON su.id = t.submitted_by";

    StoredText ReadText(DbDataReader r)
    {
        string? Str(int i) => r.IsDBNull(i) ? null : r.GetString(i);
        var message = Str(4) is { } platform ? new MessageRef(platform, Str(5), Str(6)) : null;
        var submittedBy = Str(7) is { } p ? new UserKey(p, r.GetString(8)) : null;
        return new StoredText(r.GetInt64(0), r.GetString(1), r.GetString(2), DbNames.Origin(r.GetString(3)), message, submittedBy,
            Str(9), Str(10), Str(11), Str(12), ReadTime(r, 13), Str(14));
    }

    public Task<TextKept> AddTextAsync(NewText text, CancellationToken cancellation = default)
    {
        string content = CheckText(text);
        return WriteAsync("keep a text", (c, tx) => InsertTextAsync(c, tx, text, content, cancellation), cancellation);
    }

    public Task<TextsKept> AddTextsAsync(IReadOnlyList<NewText> texts, CancellationToken cancellation = default)
    {
        var contents = texts.Select(CheckText).ToList();
        return WriteAsync("keep texts", async (c, tx) =>
        {
            int added = 0;
            for (int start = 0; start < texts.Count; start += RowsPerInsert)
                added += (await InsertTextRowsAsync(c, tx, texts, contents, start, Math.Min(RowsPerInsert, texts.Count - start), cancellation)).Count;
            return new TextsKept(added, texts.Count - added);
        }, cancellation);
    }

    /// <summary>Rows per multi-row INSERT (13 parameters each; both databases allow thousands per statement).</summary>
    const int RowsPerInsert = 100;

    async Task<TextKept> InsertTextAsync(DbConnection c, DbTransaction tx, NewText text, string content, CancellationToken ct)
    {
        var inserted = await InsertTextRowsAsync(c, tx, [text], [content], 0, 1, ct);
        if (inserted.Count == 1) return new TextKept(inserted[0], true);
        object? existing = await Command(c, tx, "SELECT id FROM texts WHERE content_hash = @hash", ("hash", ContentHash.Of(content))).ExecuteScalarAsync(ct);
        return new TextKept(Convert.ToInt64(existing), false);
    }

    /// <summary>
    /// Inserts texts[start..start+count) in one statement; a text whose hash is already stored (or repeated in the
    /// batch) is left alone. Returns the ids of the rows actually inserted.
    /// </summary>
    async Task<List<long>> InsertTextRowsAsync(DbConnection c, DbTransaction tx, IReadOnlyList<NewText> texts, IReadOnlyList<string> contents,
        int start, int count, CancellationToken ct)
    {
        var values = new StringBuilder();
        var args = new List<(string, object?)> { ("t", TimeValue(Clock.GetUtcNow())) };
        for (int k = 0; k < count; k++)
        {
            var text = texts[start + k];
            long? submittedBy = text.SubmittedBy is { } who ? (await UpsertUserAsync(c, tx, who, null, null, ct)).Id : null;
            string p = $"r{k}_";
            values.Append(k == 0 ? "" : ", ")
                .Append($"(@{p}c, @{p}h, @{p}o, @{p}mp, @{p}chat, @{p}msg, @{p}by, @{p}mv, @{p}gs, @{p}cn, @{p}cl, @{p}wb, @t)");
            args.AddRange([
                (p + "c", contents[start + k]), (p + "h", ContentHash.Of(contents[start + k])), (p + "o", DbNames.Of(text.Origin)),
                (p + "mp", text.Message?.Platform), (p + "chat", text.Message?.ChatId), (p + "msg", text.Message?.MessageId),
                (p + "by", submittedBy is { } by ? by : TypedNull.Int64), (p + "mv", text.ModelVersion), (p + "gs", text.GenerationSettingsJson),
                (p + "cn", text.CorpusName), (p + "cl", text.CorpusLabel), (p + "wb", text.WrittenBy)]);
        }
        var ids = new List<long>(count);
        await using var r = await Command(c, tx,
            "INSERT INTO texts (content, content_hash, origin, message_platform, chat_id, message_id, submitted_by, " +
            $"model_version, generation_settings, corpus_name, corpus_label, written_by, created_at) VALUES {values} " +
            "ON CONFLICT (content_hash) DO NOTHING RETURNING id", args.ToArray()).ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) ids.Add(r.GetInt64(0));
        return ids;
    }

    /// <summary>Trims the text and refuses what no database should keep. Returns the content to store.</summary>
    string CheckText(NewText text)
    {
        ArgumentNullException.ThrowIfNull(text);
        string content = TextRules.Normalize(text.Content, Options.MaxTextLength);
        if (text.GenerationSettingsJson is { } json) CheckJson(json, "generation settings");
        return content;
    }

    static void CheckJson(string json, string what)
    {
        try { using var _ = JsonDocument.Parse(json); }
        catch (JsonException e) { throw new ArgumentException($"the {what} are not valid JSON: {e.Message}"); }
    }

    public Task<StoredText?> GetTextAsync(long textId, CancellationToken cancellation = default) =>
        ReadAsync("read a text", c => SingleTextAsync(c, $"SELECT {TextColumns} FROM {TextFrom} WHERE t.id = @id", cancellation, ("id", textId)), cancellation);

    public Task<StoredText?> FindTextAsync(string content, CancellationToken cancellation = default)
    {
        string hash = ContentHash.Of((content ?? "").Trim());
        return ReadAsync("find a text", c => SingleTextAsync(c, $"SELECT {TextColumns} FROM {TextFrom} WHERE t.content_hash = @h", cancellation, ("h", hash)), cancellation);
    }

    public Task<StoredText?> GetRandomTextAsync(TextOrigin origin, CancellationToken cancellation = default) =>
        ReadAsync("pick a random text", async c =>
        {
            // Corpus texts only where the import knew who wrote them.
            string known = origin == TextOrigin.Corpus ? " AND written_by IS NOT NULL" : "";
            long count = Convert.ToInt64(await Command(c, null, "SELECT COUNT(*) FROM texts WHERE origin = @o" + known, ("o", DbNames.Of(origin))).ExecuteScalarAsync(cancellation));
            if (count == 0) return null;
            long offset = Random.Shared.NextInt64(count);
            return await SingleTextAsync(c, $"SELECT {TextColumns} FROM {TextFrom} WHERE t.origin = @o{known.Replace("written_by", "t.written_by")} ORDER BY t.id LIMIT 1 OFFSET @k",
                cancellation, ("o", DbNames.Of(origin)), ("k", offset));
        }, cancellation);

    public Task<IReadOnlyList<StoredText>> GetUnlabelledTextsAsync(int limit, long afterTextId = 0,
        IReadOnlyCollection<TextOrigin>? origins = null, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        origins = origins is { Count: > 0 } ? origins : [TextOrigin.UserSubmitted];
        string sql = $"SELECT {TextColumns} FROM {TextFrom} WHERE t.id > @after AND t.origin IN {DbNames.InList(origins, DbNames.Of)} " +
                     "AND NOT EXISTS (SELECT 1 FROM labels l WHERE l.text_id = t.id) ORDER BY t.id LIMIT @n";
        return ReadAsync("read unlabelled texts", c => TextListAsync(c, sql, cancellation, ("after", afterTextId), ("n", limit)), cancellation);
    }

    public Task<IReadOnlyList<StoredText>> GetTextsAsync(TextOrigin origin, int limit, long afterTextId = 0,
        CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(limit);
        string sql = $"SELECT {TextColumns} FROM {TextFrom} WHERE t.id > @after AND t.origin = @o ORDER BY t.id LIMIT @n";
        return ReadAsync("read texts", c => TextListAsync(c, sql, cancellation,
            ("after", afterTextId), ("o", DbNames.Of(origin)), ("n", limit)), cancellation);
    }

    async Task<StoredText?> SingleTextAsync(DbConnection c, string sql, CancellationToken ct, params (string, object?)[] args) =>
        (await TextListAsync(c, sql, ct, args)).FirstOrDefault();

    async Task<IReadOnlyList<StoredText>> TextListAsync(DbConnection c, string sql, CancellationToken ct, params (string, object?)[] args)
    {
        var texts = new List<StoredText>();
        await using var r = await Command(c, null, sql, args).ExecuteReaderAsync(ct);
        while (await r.ReadAsync(ct)) texts.Add(ReadText(r));
        return texts;
    }

    // ------------------------------------------------------------------ predictions

    public Task<long> AddPredictionAsync(NewPrediction prediction, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(prediction);
        CheckName(prediction.ModelVersion, "model version");
        CheckName(prediction.Label, "predicted label");
        if (prediction.Probabilities.Values.Any(p => !double.IsFinite(p) || p < 0 || p > 1))
            throw new ArgumentException("probabilities must lie in [0, 1]", nameof(prediction));
        string json = JsonSerializer.Serialize(prediction.Probabilities);
        return WriteAsync("keep a prediction", async (c, tx) =>
        {
            await RequireTextAsync(c, tx, prediction.TextId, cancellation);
            return Convert.ToInt64(await Command(c, tx,
                "INSERT INTO predictions (text_id, model_version, label, probabilities, predicted_at) VALUES (@id, @mv, @l, @p, @t) RETURNING id",
                ("id", prediction.TextId), ("mv", prediction.ModelVersion), ("l", prediction.Label), ("p", json),
                ("t", TimeValue(Clock.GetUtcNow()))).ExecuteScalarAsync(cancellation));
        }, cancellation);
    }

    public Task<IReadOnlyList<StoredPrediction>> GetPredictionsAsync(long textId, CancellationToken cancellation = default) =>
        ReadAsync<IReadOnlyList<StoredPrediction>>("read predictions", async c =>
        {
            var list = new List<StoredPrediction>();
            await using var r = await Command(c, null,
                "SELECT id, text_id, model_version, label, probabilities, predicted_at FROM predictions WHERE text_id = @id ORDER BY id",
                ("id", textId)).ExecuteReaderAsync(cancellation);
            while (await r.ReadAsync(cancellation))
                list.Add(new StoredPrediction(r.GetInt64(0), r.GetInt64(1), r.GetString(2), r.GetString(3),
                    JsonSerializer.Deserialize<Dictionary<string, double>>(r.GetString(4)) ?? [], ReadTime(r, 5)));
            return list;
        }, cancellation);

    // ------------------------------------------------------------------ labels

    public async Task<long> AddLabelAsync(NewLabel label, CancellationToken cancellation = default)
    {
        CheckLabel(label);
        long id = await WriteAsync("keep a label", async (c, tx) =>
        {
            await RequireTextAsync(c, tx, label.TextId, cancellation);
            var user = await UpsertUserAsync(c, tx, label.Who, label.DisplayName, null, cancellation);
            return await InsertLabelAsync(c, tx, label.TextId, user.Id, label.Role, label.Class, label.Source, label.Weight, cancellation);
        }, cancellation);
        LabelMetrics.Committed(label.Source);
        return id;
    }

    static void CheckLabel(NewLabel label)
    {
        ArgumentNullException.ThrowIfNull(label);
        CheckUser(label.Who);
        CheckName(label.Class, "label class");
        CheckWeight(label.Weight);
    }

    static void CheckWeight(double weight)
    {
        if (!double.IsFinite(weight) || weight < 0 || weight > 100)
            throw new ArgumentException($"label weight {weight} is outside [0, 100]");
    }

    async Task<long> InsertLabelAsync(DbConnection c, DbTransaction tx, long textId, long userId, UserRole role, string cls,
        LabelSource source, double weight, CancellationToken ct) =>
        Convert.ToInt64(await Command(c, tx,
            "INSERT INTO labels (text_id, user_id, role, class, source, weight, labelled_at) VALUES (@text, @user, @role, @class, @source, @w, @t) " +
            "ON CONFLICT (text_id, user_id, source) DO UPDATE SET role = excluded.role, class = excluded.class, " +
            "weight = excluded.weight, labelled_at = excluded.labelled_at RETURNING id",
            ("text", textId), ("user", userId), ("role", DbNames.Of(role)), ("class", cls.Trim()), ("source", DbNames.Of(source)),
            ("w", weight), ("t", TimeValue(Clock.GetUtcNow()))).ExecuteScalarAsync(ct));

    const string LabelColumns = "l.id, l.text_id, u.platform, u.platform_user_id, l.role, l.class, l.source, l.weight, l.labelled_at";

    public Task<IReadOnlyList<StoredLabel>> GetLabelsAsync(long textId, CancellationToken cancellation = default) =>
        ReadAsync<IReadOnlyList<StoredLabel>>("read labels", async c =>
        {
            var list = new List<StoredLabel>();
            await using var r = await Command(c, null,
                $"SELECT {LabelColumns} FROM labels l JOIN users u ON u.id = l.user_id WHERE l.text_id = @id ORDER BY l.id",
                ("id", textId)).ExecuteReaderAsync(cancellation);
            while (await r.ReadAsync(cancellation))
                list.Add(new StoredLabel(r.GetInt64(0), r.GetInt64(1), new UserKey(r.GetString(2), r.GetString(3)), DbNames.Role(r.GetString(4)),
                    r.GetString(5), DbNames.Source(r.GetString(6)), r.GetDouble(7), ReadTime(r, 8)));
            return list;
        }, cancellation);

    public async IAsyncEnumerable<LabelForTraining> ExportLabelsAsync(IReadOnlyCollection<LabelSource>? sources = null,
        [EnumeratorCancellation] CancellationToken cancellation = default)
    {
        string filter = sources is { Count: > 0 } ? $"WHERE l.source IN {DbNames.InList(sources, DbNames.Of)} " : "";
        string sql = "SELECT l.id, l.text_id, t.content, t.origin, l.class, l.source, u.platform, u.platform_user_id, l.role, l.weight, l.labelled_at " +
                     $"FROM labels l JOIN texts t ON t.id = l.text_id JOIN users u ON u.id = l.user_id {filter}ORDER BY l.id";
        // Streams: the connection is opened with retries; a failure half-way is reported, never retried (rows were already handed out).
        await using var connection = await WithRetryAsync("export labels", () => OpenConnectionAsync(cancellation), cancellation);
        DbDataReader reader;
        try { reader = await Command(connection, null, sql).ExecuteReaderAsync(cancellation); }
        catch (Exception e) when (IsProviderFailure(e)) { throw Translate("export labels", e, committing: false); }
        await using (reader)
        {
            while (true)
            {
                LabelForTraining row;
                try
                {
                    if (!await reader.ReadAsync(cancellation)) yield break;
                    row = new LabelForTraining(reader.GetInt64(0), reader.GetInt64(1), reader.GetString(2), DbNames.Origin(reader.GetString(3)),
                        reader.GetString(4), DbNames.Source(reader.GetString(5)), new UserKey(reader.GetString(6), reader.GetString(7)),
                        DbNames.Role(reader.GetString(8)), reader.GetDouble(9), ReadTime(reader, 10));
                }
                catch (Exception e) when (IsProviderFailure(e)) { throw Translate("export labels", e, committing: false); }
                yield return row;
            }
        }
    }

    async Task RequireTextAsync(DbConnection c, DbTransaction tx, long textId, CancellationToken ct)
    {
        object? found = await Command(c, tx, "SELECT 1 FROM texts WHERE id = @id", ("id", textId)).ExecuteScalarAsync(ct);
        if (found is null or DBNull) throw new ArgumentException($"text {textId} does not exist");
    }

    // ------------------------------------------------------------------ review queue

    public Task<StoredText?> GetNextForReviewAsync(UserKey moderator, CancellationToken cancellation = default)
    {
        CheckUser(moderator);
        string sql = $"SELECT {TextColumns} FROM {TextFrom} " +
                     "WHERE NOT EXISTS (SELECT 1 FROM labels l WHERE l.text_id = t.id AND l.source = 'moderator') " +
                     "AND NOT EXISTS (SELECT 1 FROM review_skips s JOIN users m ON m.id = s.user_id " +
                     "                WHERE s.text_id = t.id AND m.platform = @p AND m.platform_user_id = @u) " +
                     "ORDER BY CASE t.origin WHEN 'user_submitted' THEN 0 WHEN 'generated' THEN 1 ELSE 2 END, t.id LIMIT 1";
        return ReadAsync("find the next text to review",
            c => SingleTextAsync(c, sql, cancellation, ("p", moderator.Platform), ("u", moderator.PlatformUserId)), cancellation);
    }

    public Task SkipForReviewAsync(UserKey moderator, long textId, CancellationToken cancellation = default)
    {
        CheckUser(moderator);
        return WriteAsync("remember a skipped review", async (c, tx) =>
        {
            await RequireTextAsync(c, tx, textId, cancellation);
            var user = await UpsertUserAsync(c, tx, moderator, null, null, cancellation);
            await Command(c, tx,
                "INSERT INTO review_skips (user_id, text_id, skipped_at) VALUES (@u, @t, @at) ON CONFLICT (user_id, text_id) DO NOTHING",
                ("u", user.Id), ("t", textId), ("at", TimeValue(Clock.GetUtcNow()))).ExecuteNonQueryAsync(cancellation);
            return true;
        }, cancellation);
    }

    // ------------------------------------------------------------------ users

    const string UserColumns = "id, platform, platform_user_id, display_name, role, created_at";

    UserAccount ReadUser(DbDataReader r) =>
        new(r.GetInt64(0), new UserKey(r.GetString(1), r.GetString(2)), r.IsDBNull(3) ? null : r.GetString(3),
            DbNames.Role(r.GetString(4)), ReadTime(r, 5));

    public Task<UserAccount> UpsertUserAsync(UserKey user, string? displayName = null, UserRole? role = null,
        CancellationToken cancellation = default)
    {
        CheckUser(user);
        return WriteAsync("register a user", (c, tx) => UpsertUserAsync(c, tx, user, displayName, role, cancellation), cancellation);
    }

    async Task<UserAccount> UpsertUserAsync(DbConnection c, DbTransaction tx, UserKey user, string? displayName, UserRole? role, CancellationToken ct)
    {
        // A new user starts as what they were given (or a plain user); an existing one keeps name and role unless new ones are given.
        await using var r = await Command(c, tx,
            "INSERT INTO users (platform, platform_user_id, display_name, role, created_at) VALUES (@p, @u, @name, @role, @t) " +
            "ON CONFLICT (platform, platform_user_id) DO UPDATE SET " +
            "display_name = COALESCE(@name, users.display_name), role = COALESCE(@newrole, users.role) " +
            $"RETURNING {UserColumns}",
            ("p", user.Platform), ("u", user.PlatformUserId), ("name", displayName?.Trim()),
            ("role", DbNames.Of(role ?? UserRole.User)), ("newrole", role is { } given ? DbNames.Of(given) : null),
            ("t", TimeValue(Clock.GetUtcNow()))).ExecuteReaderAsync(ct);
        await r.ReadAsync(ct);
        return ReadUser(r);
    }

    public Task<UserAccount?> GetUserAsync(UserKey user, CancellationToken cancellation = default) =>
        ReadAsync("read a user", async c =>
        {
            await using var r = await Command(c, null, $"SELECT {UserColumns} FROM users WHERE platform = @p AND platform_user_id = @u",
                ("p", user.Platform), ("u", user.PlatformUserId)).ExecuteReaderAsync(cancellation);
            return await r.ReadAsync(cancellation) ? ReadUser(r) : null;
        }, cancellation);

    public Task<IReadOnlyList<UserAccount>> GetUsersInRoleAsync(UserRole role, CancellationToken cancellation = default) =>
        ReadAsync<IReadOnlyList<UserAccount>>("read users", async c =>
        {
            var list = new List<UserAccount>();
            await using var r = await Command(c, null, $"SELECT {UserColumns} FROM users WHERE role = @r ORDER BY id",
                ("r", DbNames.Of(role))).ExecuteReaderAsync(cancellation);
            while (await r.ReadAsync(cancellation)) list.Add(ReadUser(r));
            return list;
        }, cancellation);

    static void CheckUser(UserKey user)
    {
        ArgumentNullException.ThrowIfNull(user);
        CheckName(user.Platform, "platform");
        CheckName(user.PlatformUserId, "platform user id");
    }

    static void CheckName(string? value, string what)
    {
        if (string.IsNullOrWhiteSpace(value)) throw new ArgumentException($"the {what} is empty");
        if (value.Length > 200) throw new ArgumentException($"the {what} is {value.Length} characters long (at most 200)");
        if (value.Contains('\0')) throw new ArgumentException($"the {what} contains NUL characters");
    }

    // ------------------------------------------------------------------ game

    const string ScoreSelect =
        "SELECT u.platform, u.platform_user_id, u.display_name, g.played, g.correct, g.updated_at FROM game_scores g JOIN users u ON u.id = g.user_id";

    GameScore ReadScore(DbDataReader r) =>
        new(new UserKey(r.GetString(0), r.GetString(1)), r.IsDBNull(2) ? null : r.GetString(2),
            Convert.ToInt64(r.GetValue(3)), Convert.ToInt64(r.GetValue(4)), ReadTime(r, 5));

    public async Task<GameScore> RecordGameGuessAsync(GameGuess guess, CancellationToken cancellation = default)
    {
        ArgumentNullException.ThrowIfNull(guess);
        CheckUser(guess.Player);
        CheckName(guess.GuessedClass, "guessed class");
        CheckWeight(guess.Weight);
        var score = await RecordGameGuessCoreAsync(guess, cancellation);
        if (!score.AlreadyCounted) LabelMetrics.Committed(LabelSource.GameGuess);
        return score;
    }

    Task<GameScore> RecordGameGuessCoreAsync(GameGuess guess, CancellationToken cancellation) =>
        WriteAsync("record a game guess", async (c, tx) =>
        {
            await RequireTextAsync(c, tx, guess.TextId, cancellation);
            var user = await UpsertUserAsync(c, tx, guess.Player, guess.DisplayName, null, cancellation);
            // The key (player, text) decides whether this guess counts. A concurrent transaction inserting the same key
            // (another replica) makes PostgreSQL wait for it and then do nothing; SQLite serialises writers. So exactly
            // one of them goes on to write the label and the score.
            object? claimed = await Command(c, tx,
                "INSERT INTO game_guesses (user_id, text_id, guessed_at, chat, correct) VALUES (@u, @text, @t, @chat, @right) " +
                "ON CONFLICT (user_id, text_id) DO NOTHING RETURNING user_id",
                ("u", user.Id), ("text", guess.TextId), ("t", TimeValue(Clock.GetUtcNow())), ("chat", guess.Chat), ("right", guess.Correct ? 1L : 0L))
                .ExecuteScalarAsync(cancellation);
            if (claimed is null or DBNull)
            {
                await using var seen = await Command(c, tx, $"{ScoreSelect} WHERE g.user_id = @u", ("u", user.Id)).ExecuteReaderAsync(cancellation);
                // No score row behind a key: a game_guess label written without RecordGameGuessAsync before migration 3.
                var current = await seen.ReadAsync(cancellation) ? ReadScore(seen) : new GameScore(guess.Player, user.DisplayName, 0, 0, Clock.GetUtcNow());
                return current with { AlreadyCounted = true };
            }
            await InsertLabelAsync(c, tx, guess.TextId, user.Id, user.Role, guess.GuessedClass, LabelSource.GameGuess, guess.Weight, cancellation);
            await Command(c, tx,
                "INSERT INTO game_scores (user_id, played, correct, updated_at) VALUES (@u, 1, @c, @t) " +
                "ON CONFLICT (user_id) DO UPDATE SET played = game_scores.played + 1, correct = game_scores.correct + excluded.correct, " +
                "updated_at = excluded.updated_at",
                ("u", user.Id), ("c", guess.Correct ? 1L : 0L), ("t", TimeValue(Clock.GetUtcNow()))).ExecuteNonQueryAsync(cancellation);
            int streak = await StreakAsync(c, tx, user.Id, cancellation);
            await using var r = await Command(c, tx, $"{ScoreSelect} WHERE g.user_id = @u", ("u", user.Id)).ExecuteReaderAsync(cancellation);
            await r.ReadAsync(cancellation);
            return ReadScore(r) with { Streak = streak };
        }, cancellation);

    public Task<GameScore?> GetGameScoreAsync(UserKey player, CancellationToken cancellation = default) =>
        ReadAsync("read a game score", async c =>
        {
            await using var r = await Command(c, null, $"{ScoreSelect} WHERE u.platform = @p AND u.platform_user_id = @u",
                ("p", player.Platform), ("u", player.PlatformUserId)).ExecuteReaderAsync(cancellation);
            return await r.ReadAsync(cancellation) ? ReadScore(r) : null;
        }, cancellation);

    public Task<IReadOnlyList<GameScore>> GetTopGameScoresAsync(int count, CancellationToken cancellation = default)
    {
        ArgumentOutOfRangeException.ThrowIfNegativeOrZero(count);
        return ReadAsync<IReadOnlyList<GameScore>>("read the best game scores", async c =>
        {
            var list = new List<GameScore>();
            await using var r = await Command(c, null, $"{ScoreSelect} ORDER BY g.correct DESC, g.played ASC, g.user_id LIMIT @n",
                ("n", count)).ExecuteReaderAsync(cancellation);
            while (await r.ReadAsync(cancellation)) list.Add(ReadScore(r));
            return list;
        }, cancellation);
    }

    // ------------------------------------------------------------------ stats

    public Task<StoreStats> GetStatsAsync(CancellationToken cancellation = default) =>
        ReadAsync("read statistics", async c =>
        {
            var labels = new List<LabelCount>();
            await using (var r = await Command(c, null, "SELECT source, class, COUNT(*) FROM labels GROUP BY source, class ORDER BY source, class")
                             .ExecuteReaderAsync(cancellation))
                while (await r.ReadAsync(cancellation))
                    labels.Add(new LabelCount(DbNames.Source(r.GetString(0)), r.GetString(1), Convert.ToInt64(r.GetValue(2))));
            var origins = Enum.GetValues<TextOrigin>().ToDictionary(o => o, _ => 0L);
            await using (var r = await Command(c, null, "SELECT origin, COUNT(*) FROM texts GROUP BY origin").ExecuteReaderAsync(cancellation))
                while (await r.ReadAsync(cancellation))
                    origins[DbNames.Origin(r.GetString(0))] = Convert.ToInt64(r.GetValue(1));
            long predictions = Convert.ToInt64(await Command(c, null, "SELECT COUNT(*) FROM predictions").ExecuteScalarAsync(cancellation));
            long labellers = Convert.ToInt64(await Command(c, null, "SELECT COUNT(DISTINCT user_id) FROM labels").ExecuteScalarAsync(cancellation));
            return new StoreStats(labels, origins, predictions, labellers);
        }, cancellation);

    // ------------------------------------------------------------------ plumbing: transactions, retries, errors

    /// <summary>One write: a transaction committed before this returns. Retried while the failure is transient and nothing was committed.</summary>
    protected Task<T> WriteAsync<T>(string what, Func<DbConnection, DbTransaction, Task<T>> work, CancellationToken cancellation) =>
        WithRetryAsync(what, async () =>
        {
            await using var connection = await OpenConnectionAsync(cancellation);
            await using var tx = await connection.BeginTransactionAsync(cancellation);
            T result = await work(connection, tx);
            try { await tx.CommitAsync(cancellation); }
            catch (Exception e) when (IsProviderFailure(e))
            {
                // The outcome of a failed COMMIT is unknown: trying again could write twice, so say so instead.
                throw new StorageException($"{what}: the database failed while committing, the write may not have been kept: {Describe(e)}", e);
            }
            return result;
        }, cancellation);

    protected Task<T> ReadAsync<T>(string what, Func<DbConnection, Task<T>> work, CancellationToken cancellation) =>
        WithRetryAsync(what, async () =>
        {
            await using var connection = await OpenConnectionAsync(cancellation);
            return await work(connection);
        }, cancellation);

    async Task<T> WithRetryAsync<T>(string what, Func<Task<T>> attempt, CancellationToken cancellation)
    {
        // 37.5-62.5 ms, doubling up to 2.4-4 s: jittered, so replicas hitting the same lock do not retry in step.
        var backoff = new Backoff(TimeSpan.FromMilliseconds(62.5), TimeSpan.FromSeconds(4)) { Jitter = 0.4, MaxAttempts = Math.Max(1, Options.MaxAttempts) };
        try { return await backoff.ExecuteAsync(_ => attempt(), e => IsProviderFailure(e) && IsTransient(e), cancellation); }
        catch (Exception e) when (IsProviderFailure(e)) { throw Translate(what, e, committing: false); }
    }

    /// <summary>A failure of the database or its driver (not bad input, not cancellation, not already ours).</summary>
    bool IsProviderFailure(Exception e) =>
        e is not (OperationCanceledException or ArgumentException or StorageException) &&
        (e is DbException or IOException or TimeoutException or System.Net.Sockets.SocketException or InvalidOperationException
         || IsTransient(e) || IsUnavailable(e));

    StorageException Translate(string what, Exception e, bool committing) =>
        IsUnavailable(e)
            ? new StorageException($"database unavailable: {Provider} could not be reached or opened ({Describe(e)})", e)
            : new StorageException($"{what} failed: {Describe(e)}", e);

    static string Describe(Exception e)
    {
        var parts = new List<string>();
        for (var x = e; x is not null && parts.Count < 3; x = x.InnerException)
            if (!parts.Contains(x.Message)) parts.Add(x.Message);
        return string.Join(" <- ", parts);
    }

    protected static DbCommand Command(DbConnection connection, DbTransaction? tx, string sql, params (string Name, object? Value)[] args)
    {
        var command = connection.CreateCommand();
        command.Transaction = tx;
        command.CommandText = sql;
        foreach (var (name, value) in args)
        {
            var p = command.CreateParameter();
            p.ParameterName = name;
            if (value is TypedNull typed) { p.Value = DBNull.Value; p.DbType = typed.Type; }
            else
            {
                p.Value = value ?? DBNull.Value;
                if (value is null) p.DbType = DbType.String; // a plain null is a missing text; other types say so with TypedNull
            }
            command.Parameters.Add(p);
        }
        return command;
    }

    /// <summary>A NULL parameter of a non-text type (PostgreSQL needs to know which).</summary>
    protected sealed record TypedNull(DbType Type)
    {
        public static readonly TypedNull Int64 = new(DbType.Int64);
    }

    static async Task Execute(DbConnection c, DbTransaction? tx, string sql, CancellationToken ct) =>
        await Command(c, tx, sql).ExecuteNonQueryAsync(ct);
}
