namespace GanBertBots.Storage;

/// <summary>
/// The versioned schema. Each migration runs once, in its own transaction, and is recorded in
/// <c>schema_version</c>; the SQL is shared by both providers, with the column types filled in per provider.
/// Append new migrations at the end; never edit one that has shipped.
/// </summary>
public static class Schema
{
    /// <summary>Column types of one provider.</summary>
    /// <param name="Id">An auto-numbered 64-bit primary key.</param>
    /// <param name="BigInt">A 64-bit integer (foreign keys, counters).</param>
    /// <param name="Real">A double.</param>
    /// <param name="Time">A point in time (UTC).</param>
    public sealed record ColumnTypes(string Id, string BigInt, string Real, string Time);

    public sealed record Migration(int Version, string Name, string Template)
    {
        public string Sql(ColumnTypes t) => Template
            .Replace("{id}", t.Id).Replace("{bigint}", t.BigInt).Replace("{real}", t.Real).Replace("{time}", t.Time);
    }

    public static string VersionTable(ColumnTypes t) =>
        $"CREATE TABLE IF NOT EXISTS schema_version (version INTEGER PRIMARY KEY, name TEXT NOT NULL, applied_at {t.Time} NOT NULL)";

    public static int LatestVersion => Migrations[^1].Version;

    public static IReadOnlyList<Migration> Migrations { get; } =
    [
        new(1, "texts, predictions, labels, users and roles", """
            CREATE TABLE roles (
                name TEXT PRIMARY KEY
            );
            INSERT INTO roles (name) VALUES ('user'), ('moderator'), ('admin');

            CREATE TABLE users (
                id {id},
                platform TEXT NOT NULL,
                platform_user_id TEXT NOT NULL,
                display_name TEXT,
                role TEXT NOT NULL REFERENCES roles (name),
                created_at {time} NOT NULL,
                UNIQUE (platform, platform_user_id)
            );

            CREATE TABLE texts (
                id {id},
                content TEXT NOT NULL,
                content_hash TEXT NOT NULL UNIQUE,
                origin TEXT NOT NULL CHECK (origin IN ('user_submitted', 'generated', 'corpus')),
                message_platform TEXT,
                chat_id TEXT,
                message_id TEXT,
                submitted_by {bigint} REFERENCES users (id),
                model_version TEXT,
                generation_settings TEXT,
                corpus_name TEXT,
                corpus_label TEXT,
                created_at {time} NOT NULL
            );
            CREATE INDEX texts_by_origin ON texts (origin, id);

            CREATE TABLE predictions (
                id {id},
                text_id {bigint} NOT NULL REFERENCES texts (id),
                model_version TEXT NOT NULL,
                label TEXT NOT NULL,
                probabilities TEXT NOT NULL,
                predicted_at {time} NOT NULL
            );
            CREATE INDEX predictions_by_text ON predictions (text_id);

            CREATE TABLE labels (
                id {id},
                text_id {bigint} NOT NULL REFERENCES texts (id),
                user_id {bigint} NOT NULL REFERENCES users (id),
                role TEXT NOT NULL REFERENCES roles (name),
                class TEXT NOT NULL,
                source TEXT NOT NULL CHECK (source IN ('moderator', 'user_feedback', 'game_guess')),
                weight {real} NOT NULL,
                labelled_at {time} NOT NULL,
                UNIQUE (text_id, user_id, source)
            );
            CREATE INDEX labels_by_source ON labels (source, class);
            """),
        new(2, "review skips and game scores", """
            CREATE TABLE review_skips (
                user_id {bigint} NOT NULL REFERENCES users (id),
                text_id {bigint} NOT NULL REFERENCES texts (id),
                skipped_at {time} NOT NULL,
                PRIMARY KEY (user_id, text_id)
            );

            CREATE TABLE game_scores (
                user_id {bigint} PRIMARY KEY REFERENCES users (id),
                played {bigint} NOT NULL,
                correct {bigint} NOT NULL,
                updated_at {time} NOT NULL
            );
            CREATE INDEX game_scores_by_correct ON game_scores (correct DESC);
            """),
        // One guess per person per game round, enforced by the database so that replicas sharing it cannot count a
        // guess twice (a double press reaching two processes, or one process twice). A round is identified by the text
        // it shows: the game's button payload carries only the text id (no round nonce), and a person who has seen the
        // answer for a text cannot make a real guess on it again, even if a later /game happens to show it once more.
        // So the key is (player, text). Guesses kept before this migration (game_guess labels) are carried over, so
        // they stay counted once.
        new(3, "one game guess per player and text", """
            CREATE TABLE game_guesses (
                user_id {bigint} NOT NULL REFERENCES users (id),
                text_id {bigint} NOT NULL REFERENCES texts (id),
                guessed_at {time} NOT NULL,
                PRIMARY KEY (user_id, text_id)
            );
            INSERT INTO game_guesses (user_id, text_id, guessed_at)
                SELECT user_id, text_id, labelled_at FROM labels WHERE source = 'game_guess';
            """),
        // Who wrote a corpus text, as the import determined it ("human", or the machine class such as "chatGPT"); NULL
        // when not known. Before this migration import-corpus took every corpus text for a person's, whatever its label
        // said. Backfill: no corpus label (a file without a label field: real texts by construction) and the disaster
        // tweets' 0/1 targets (a topic, not a writer) are human; a label naming a known writer is that writer; any other
        // label stays unknown, and the game and the rounds leave such texts out.
        new(4, "who wrote a corpus text", """
            ALTER TABLE texts ADD COLUMN written_by TEXT;
            UPDATE texts SET written_by = 'human'
                WHERE origin = 'corpus' AND (corpus_label IS NULL OR corpus_label IN ('0', '1') OR lower(corpus_label) = 'human');
            UPDATE texts SET written_by = corpus_label
                WHERE origin = 'corpus' AND lower(corpus_label) IN ('chatgpt', 'cohere', 'davinci', 'bloomz', 'dolly', 'gpt2');
            """),
        // Where a guess was made and whether it was right, for the per-chat leaderboard (/top) and streaks. Guesses kept
        // before this migration have neither: they count in the overall score, not on a chat's board or in a streak.
        new(5, "chat and outcome of each game guess", """
            ALTER TABLE game_guesses ADD COLUMN chat TEXT;
            ALTER TABLE game_guesses ADD COLUMN correct INTEGER;
            CREATE INDEX game_guesses_by_chat ON game_guesses (chat);
            """),
    ];
}
