using System.Text.Json;
using GanBertBots.Host.Cli;
using GanBertBots.Storage;
using GanBertBots.Storage.Corpus;
using GanBertBots.Tests.Support;
using Microsoft.Data.Sqlite;
using Microsoft.Extensions.Configuration;

namespace GanBertBots.Tests.Storage;

public sealed class CsvReaderTests
{
    static List<string[]> Read(string csv)
    {
        var reader = new CsvReader(new StringReader(csv));
        var records = new List<string[]>();
        while (reader.ReadRecord() is { } r) records.Add(r);
        return records;
    }

    [Fact]
    public void Plain_records_with_LF_CRLF_and_no_final_newline()
    {
        Assert.Equal([["a", "b", "c"], ["1", "2", "3"]], Read("a,b,c\n1,2,3\n"));
        Assert.Equal([["a", "b", "c"], ["1", "2", "3"]], Read("a,b,c\r\n1,2,3\r\n"));
        Assert.Equal([["a", "b", "c"], ["1", "2", "3"]], Read("a,b,c\r\n1,2,3"));
        Assert.Equal([["a", "b"], ["1", "2"]], Read("a,b\r1,2\r")); // old Mac line ends
    }

    [Fact]
    public void Empty_fields_anywhere_including_a_trailing_one()
    {
        Assert.Equal([["", "", ""], ["x", "", ""], ["", "", "z"]], Read(",,\nx,,\n,,z\n"));
        Assert.Equal([["1", ""]], Read("1,"));
        Assert.Equal([["", ""]], Read("\"\",\"\"\n"));
    }

    [Fact]
    public void Quoted_fields_hold_separators_doubled_quotes_and_line_breaks()
    {
        var records = Read("id,text\r\n1,\"fire, smoke\"\r\n2,\"she said \"\"run\"\"\"\r\n3,\"line one\nline two\r\nline three\"\r\n4,\"\"\"\"\r\n");
        Assert.Equal(["1", "fire, smoke"], records[1]);
        Assert.Equal(["2", "she said \"run\""], records[2]);
        Assert.Equal(["3", "line one\nline two\r\nline three"], records[3]); // line breaks inside quotes kept as written
        Assert.Equal(["4", "\""], records[4]);
        Assert.Equal(5, records.Count);
    }

    [Fact]
    public void Blank_lines_between_records_are_skipped_and_record_lines_are_counted_through_quoted_breaks()
    {
        var reader = new CsvReader(new StringReader("a,b\n\n\"x\ny\",1\r\n\r\nlast,2\n"));
        Assert.Equal(["a", "b"], reader.ReadRecord()!);
        Assert.Equal(1, reader.RecordLine);
        Assert.Equal(["x\ny", "1"], reader.ReadRecord()!);
        Assert.Equal(3, reader.RecordLine);
        Assert.Equal(["last", "2"], reader.ReadRecord()!);
        Assert.Equal(6, reader.RecordLine);
        Assert.Null(reader.ReadRecord());
    }

    [Fact]
    public void A_quote_inside_an_unquoted_field_is_kept()
    {
        Assert.Equal([["5\" of rain", "ok"]], Read("5\" of rain,ok\n"));
    }

    [Fact]
    public void Broken_quoting_is_an_error_that_names_the_line()
    {
        var e = Assert.Throws<CsvFormatException>(() => Read("a,b\n1,\"never closed\n2,3\n"));
        Assert.Contains("line 2", e.Message);
        Assert.Contains("never closed", e.Message);
        var e2 = Assert.Throws<CsvFormatException>(() => Read("a,b\n\n1,\"closed\"x,2\n"));
        Assert.Contains("line 3", e2.Message);
        Assert.Contains("after the closing quote", e2.Message);
    }

    [Fact]
    public void A_table_checks_field_counts_against_the_header()
    {
        var table = new CsvTable(new StringReader("id,Text,target\n1,hello,0\n2,\"multi\nline\",1\n3,short\n"));
        Assert.Equal(1, table.Column("text")); // header names match case-insensitively
        var e = Assert.Throws<CsvFormatException>(() => table.Records().ToList());
        Assert.Contains("line 5", e.Message);
        Assert.Contains("record 3 has 2 fields, the header has 3", e.Message);
        Assert.Contains("no column 'label'", Assert.Throws<CsvFormatException>(() => table.Column("label")).Message);
        Assert.Contains("empty", Assert.Throws<CsvFormatException>(() => new CsvTable(new StringReader(""))).Message);
    }

    [SharedDataFact("disaster-tweets/train.csv")]
    public void The_disaster_tweets_file_reads_as_7613_records()
    {
        // Known answers from the data set's README and Python's csv module (an independent reader):
        // 7,613 rows, 4,342 with target 0 and 3,271 with target 1, 435 texts containing a line break.
        using var file = new StreamReader(SharedData.Require("disaster-tweets/train.csv"));
        var table = new CsvTable(file);
        Assert.Equal(["id", "keyword", "location", "text", "target"], table.Header);
        var rows = table.Records().ToList();
        Assert.Equal(7613, rows.Count);
        Assert.Equal(4342, rows.Count(r => r[4] == "0"));
        Assert.Equal(3271, rows.Count(r => r[4] == "1"));
        Assert.Equal(435, rows.Count(r => r[3].Contains('\n')));
        Assert.Equal(["1", "", "", "Our Deeds are the Reason of this #earthquake May ALLAH Forgive us all", "1"], rows[0]);
    }
}

public sealed class CorpusImportTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), "ganbertbots-corpus-" + Guid.NewGuid().ToString("N")[..12]);
    readonly StorageOptions _options;

    public CorpusImportTests()
    {
        Directory.CreateDirectory(_folder);
        _options = new StorageOptions { ConnectionString = $"Data Source={Path.Combine(_folder, "store.db")}" };
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    string Write(string name, string content)
    {
        string path = Path.Combine(_folder, name);
        File.WriteAllText(path, content);
        return path;
    }

    [Fact]
    public void Content_hash_is_SHA256_of_the_NFC_text()
    {
        // Known answer computed with Python: hashlib.sha256(unicodedata.normalize('NFC', text).encode()).hexdigest()
        Assert.Equal("c5f499860c478834b66e2b4cacaa4f6ad73b9d8eb8cb1242cafafeb6ac07b1be",
            ContentHash.Of("Our Deeds are the Reason of this #earthquake May ALLAH Forgive us all"));
        Assert.Equal(ContentHash.Of("Caf\u00e9"), ContentHash.Of("Cafe\u0301"));
    }

    [Fact]
    public async Task A_csv_corpus_is_imported_deduplicated_with_its_labels_and_bad_rows_reported()
    {
        string csv = Write("mini.csv",
            "id,text,target\r\n1,\"Fire, fire!\",1\r\n2,\"multi\nline \"\"quoted\"\"\",0\r\n3,\"Fire, fire!\",1\r\n4,,0\r\n5,plain,0\r\n");
        await using var store = await LabelStore.OpenAsync(_options);
        // 0/1 is a topic, not who wrote the text: refused, nothing kept, until the rows' writer is given.
        var refused = await Assert.ThrowsAsync<CorpusLabelException>(() => CorpusImport.ImportAsync(store, csv));
        Assert.Contains("'0', '1'", refused.Message);
        Assert.Contains("--written-by human", refused.Message);
        Assert.Equal(0, (await store.GetStatsAsync()).TotalTexts);

        var report = await CorpusImport.ImportAsync(store, csv, writtenBy: "human");
        Assert.Equal((5, 3, 1, 1, "target"), (report.Rows, report.Added, report.Duplicates, report.Skipped, report.LabelField));
        Assert.Equal("row 4: the text is empty", Assert.Single(report.SkipReasons));
        Assert.Equal(new Dictionary<string, int> { ["0"] = 3, ["1"] = 2 }, report.RowsByLabel);

        var text = await store.FindTextAsync("multi\nline \"quoted\"");
        Assert.NotNull(text);
        Assert.Equal((TextOrigin.Corpus, "mini.csv", "0", "human"), (text.Origin, text.CorpusName, text.CorpusLabel, text.WrittenBy));

        var again = await CorpusImport.ImportAsync(store, csv, writtenBy: "human");
        Assert.Equal((5, 0, 4), (again.Rows, again.Added, again.Duplicates));
        Assert.Equal(3, (await store.GetStatsAsync()).TextsByOrigin[TextOrigin.Corpus]);
    }

    [Fact]
    public async Task A_jsonl_corpus_with_other_field_names_is_imported()
    {
        string jsonl = Write("m4.jsonl",
            "{\"abstract\":\"We study GAN-BERT.\",\"model\":\"human\"}\n\n{\"abstract\":\"As an AI model, I...\",\"model\":\"chatGPT\"}\n{\"abstract\":\"We study GAN-BERT.\",\"model\":\"human\"}\n");
        await using var store = await LabelStore.OpenAsync(_options);
        var report = await CorpusImport.ImportAsync(store, jsonl, textField: "abstract", labelField: "model");
        Assert.Equal((3, 2, 1), (report.Rows, report.Added, report.Duplicates));
        Assert.Equal("chatGPT", (await store.FindTextAsync("As an AI model, I..."))?.CorpusLabel);
    }

    [Fact]
    public async Task Labels_that_name_the_writer_are_kept_per_row_and_only_the_human_rows_are_real()
    {
        // Issue 17: every row of an M4-style file used to be kept as human-written.
        string jsonl = Write("m4.jsonl",
            "{\"text\":\"We study GAN-BERT on arXiv.\",\"label\":\"human\",\"source\":\"arxiv\"}\n" +
            "{\"text\":\"In this paper, we delve into detectors.\",\"label\":\"chatgpt\",\"source\":\"arxiv\"}\n" +
            "{\"text\":\"A dolly abstract.\",\"label\":\"dolly\",\"source\":\"arxiv\"}\n");
        await using var store = await LabelStore.OpenAsync(_options);
        var report = await CorpusImport.ImportAsync(store, jsonl);
        Assert.Equal("each row's label", report.WriterFrom);
        Assert.Equal(new Dictionary<string, int> { ["chatGPT"] = 1, ["dolly"] = 1, ["human"] = 1 }, report.RowsByWriter);

        var machine = await store.FindTextAsync("In this paper, we delve into detectors.");
        Assert.Equal(("m4.jsonl", "chatgpt", "chatGPT"), (machine!.CorpusName, machine.CorpusLabel, machine.WrittenBy));
        Assert.True(machine.IsMachineCorpusText);
        Assert.False(machine.IsHumanCorpusText);
        Assert.True((await store.FindTextAsync("We study GAN-BERT on arXiv."))!.IsHumanCorpusText);

        // The round's real texts are the human-written ones only.
        var real = await new GanBertBots.Training.Rounds.CorpusTweets(store, 0.0, 100).SelectAsync(default);
        Assert.Equal(["We study GAN-BERT on arXiv."], real);
    }

    [Fact]
    public async Task Labels_that_cannot_be_kept_are_refused_and_nothing_is_stored()
    {
        await using var store = await LabelStore.OpenAsync(_options);
        // A label that names no writer next to ones that do.
        var mixed = await Assert.ThrowsAsync<CorpusLabelException>(() => CorpusImport.ImportAsync(store,
            Write("mixed.jsonl", "{\"text\":\"a\",\"label\":\"human\"}\n{\"text\":\"b\",\"label\":\"ai\"}\n")));
        Assert.Contains("'ai'", mixed.Message);
        Assert.Contains("nothing imported", mixed.Message);
        // A row without a label where the labels say who wrote the texts.
        var missing = await Assert.ThrowsAsync<CorpusLabelException>(() => CorpusImport.ImportAsync(store,
            Write("gap.jsonl", "{\"text\":\"a\",\"label\":\"human\"}\n{\"text\":\"b\",\"label\":null}\n")));
        Assert.Contains("line 2", missing.Message);
        // --written-by human, but the file says a machine wrote a row.
        var contradiction = await Assert.ThrowsAsync<CorpusLabelException>(() => CorpusImport.ImportAsync(store,
            Write("m4.jsonl", "{\"text\":\"a\",\"label\":\"human\"}\n{\"text\":\"b\",\"label\":\"chatGPT\"}\n"), writtenBy: "human"));
        Assert.Contains("'chatGPT'", contradiction.Message);
        Assert.Equal(0, (await store.GetStatsAsync()).TotalTexts);
    }

    [Fact]
    public async Task Malformed_files_are_refused_with_the_place_and_the_reason()
    {
        await using var store = await LabelStore.OpenAsync(_options);
        var e1 = await Assert.ThrowsAsync<FormatException>(() => CorpusImport.ImportAsync(store, Write("bad.jsonl", "{\"text\":\"ok\"}\n{not json\n")));
        Assert.Contains("line 2", e1.Message);
        var e2 = await Assert.ThrowsAsync<FormatException>(() => CorpusImport.ImportAsync(store, Write("num.jsonl", "{\"text\":42}\n")));
        Assert.Contains("not a string", e2.Message);
        var e3 = await Assert.ThrowsAnyAsync<FormatException>(() => CorpusImport.ImportAsync(store, Write("nofield.csv", "id,body\n1,hi\n")));
        Assert.Contains("no column 'text'", e3.Message);
        var e4 = await Assert.ThrowsAnyAsync<FormatException>(() => CorpusImport.ImportAsync(store, Write("nolabel.csv", "id,text\n1,hi\n"), labelField: "target"));
        Assert.Contains("no column 'target'", e4.Message);
        await Assert.ThrowsAsync<FileNotFoundException>(() => CorpusImport.ImportAsync(store, Path.Combine(_folder, "missing.csv")));
        // The good first line of bad.jsonl sat in an unfinished batch: nothing from a refused file is kept
        // (earlier, complete batches of a long file would be; re-running after a fix deduplicates them).
        Assert.Equal(0, (await store.GetStatsAsync()).TotalTexts);
    }

    [SharedDataFact("disaster-tweets/train.csv")]
    public async Task The_disaster_tweets_csv_imports_7613_rows_into_7503_texts()
    {
        // 7,503 distinct texts: Python's csv module over the same file, after strip() and NFC.
        await using var store = await LabelStore.OpenAsync(_options);
        var report = await CorpusImport.ImportAsync(store, SharedData.Require("disaster-tweets/train.csv"), writtenBy: "human");
        Assert.Equal((7613, 7503, 110, 0), (report.Rows, report.Added, report.Duplicates, report.Skipped));
        Assert.Equal(new Dictionary<string, int> { ["0"] = 4342, ["1"] = 3271 }, report.RowsByLabel);
        Assert.Equal(7503, (await store.GetStatsAsync()).TextsByOrigin[TextOrigin.Corpus]);
        Assert.Equal(TextOrigin.Corpus, (await store.GetRandomTextAsync(TextOrigin.Corpus))?.Origin);
    }
}

public sealed class M4CorpusImportTests : IDisposable
{
    readonly string _folder = Directory.CreateTempSubdirectory("ganbertbots-m4-").FullName;

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    [SharedDataFact("m4-subset/m4_subset.jsonl")]
    public async Task The_M4_subset_keeps_its_five_writers_and_only_201_texts_are_human()
    {
        await using var store = await LabelStore.OpenAsync(new StorageOptions { ConnectionString = $"Data Source={Path.Combine(_folder, "store.db")}" });
        var report = await CorpusImport.ImportAsync(store, SharedData.Require("m4-subset/m4_subset.jsonl"));
        Assert.Equal(1005, report.Rows);
        Assert.Equal(new Dictionary<string, int> { ["chatGPT"] = 201, ["cohere"] = 201, ["davinci"] = 201, ["dolly"] = 201, ["human"] = 201 },
            report.RowsByWriter);
        for (int i = 0; i < 20; i++)
        {
            var text = await store.GetRandomTextAsync(TextOrigin.Corpus);
            Assert.Equal(text!.CorpusLabel == "human", text.IsHumanCorpusText);
        }
    }
}

/// <summary>The <c>import-corpus</c> and <c>export-labels</c> verbs through the real CLI dispatcher.</summary>
public sealed class StorageVerbTests : IDisposable
{
    readonly string _folder = Path.Combine(Path.GetTempPath(), "ganbertbots-verbs-" + Guid.NewGuid().ToString("N")[..12]);
    readonly IConfiguration _configuration;
    readonly StorageOptions _options;

    public StorageVerbTests()
    {
        Directory.CreateDirectory(_folder);
        string cs = $"Data Source={Path.Combine(_folder, "cli.db")}";
        _options = new StorageOptions { ConnectionString = cs };
        _configuration = new ConfigurationBuilder()
            .AddInMemoryCollection(new Dictionary<string, string?> { ["Storage:Provider"] = "sqlite", ["Storage:ConnectionString"] = cs })
            .Build();
    }

    public void Dispose()
    {
        SqliteConnection.ClearAllPools();
        Directory.Delete(_folder, recursive: true);
    }

    async Task<(int Code, string Out, string Error)> RunAsync(params string[] args)
    {
        var stdout = new StringWriter();
        var stderr = new StringWriter();
        int code = await CliApp.RunAsync(args, stdout, stderr, _configuration);
        return (code, stdout.ToString(), stderr.ToString());
    }

    [Fact]
    public async Task Import_then_label_then_export_gives_one_json_object_per_label()
    {
        string csv = Path.Combine(_folder, "corpus.csv");
        await File.WriteAllTextAsync(csv, "text,label\n\"Smoke, everywhere\",human\n\"Quake \"\"felt\"\" here\",human\n");
        var (code, output, error) = await RunAsync("import-corpus", csv, "--label-field", "label");
        Assert.True(code == 0, error);
        Assert.Matches(@"rows read\s+2\b", output);
        Assert.Matches(@"added\s+2\b", output);

        await using (var store = await LabelStore.OpenAsync(_options))
        {
            var smoke = await store.FindTextAsync("Smoke, everywhere");
            await store.AddLabelAsync(new NewLabel(smoke!.Id, new UserKey("telegram", "5"), UserRole.Moderator, "human", LabelSource.Moderator, 1));
            var quake = await store.FindTextAsync("Quake \"felt\" here");
            await store.RecordGameGuessAsync(new GameGuess(quake!.Id, new UserKey("discord", "6"), "fake", false));
        }

        string outFile = Path.Combine(_folder, "out", "labels.jsonl");
        (code, output, error) = await RunAsync("export-labels", "--out", outFile);
        Assert.True(code == 0, error);
        Assert.Contains("wrote 2 labels", output);
        var lines = await File.ReadAllLinesAsync(outFile);
        Assert.Equal(2, lines.Length);
        Assert.False(File.Exists(outFile + ".partial"));
        using var first = JsonDocument.Parse(lines[0]);
        var j = first.RootElement;
        Assert.Equal(("Smoke, everywhere", "human", "moderator", "telegram", "5", "moderator", 1.0, "corpus"),
            (j.GetProperty("text").GetString(), j.GetProperty("class").GetString(), j.GetProperty("source").GetString(),
             j.GetProperty("platform").GetString(), j.GetProperty("user").GetString(), j.GetProperty("role").GetString(),
             j.GetProperty("weight").GetDouble(), j.GetProperty("origin").GetString()));
        Assert.True(j.GetProperty("labelled_at").GetDateTimeOffset() > DateTimeOffset.UtcNow.AddHours(-1));
        using var second = JsonDocument.Parse(lines[1]);
        Assert.Equal(("Quake \"felt\" here", "fake", "game_guess", 0.25),
            (second.RootElement.GetProperty("text").GetString(), second.RootElement.GetProperty("class").GetString(),
             second.RootElement.GetProperty("source").GetString(), second.RootElement.GetProperty("weight").GetDouble()));

        (code, output, error) = await RunAsync("export-labels", "--out", outFile, "--source", "moderator");
        Assert.True(code == 0, error);
        Assert.Single(await File.ReadAllLinesAsync(outFile));
    }

    [Fact]
    public async Task Mistakes_and_failures_get_a_message_and_a_nonzero_exit_code()
    {
        var (code, _, error) = await RunAsync("import-corpus");
        Assert.Equal(2, code);
        Assert.Contains("exactly one FILE", error);

        (code, _, error) = await RunAsync("import-corpus", Path.Combine(_folder, "nope.csv"));
        Assert.Equal(1, code);
        Assert.Contains("no such file", error);

        (code, _, error) = await RunAsync("export-labels");
        Assert.Equal(2, code);
        Assert.Contains("--out is required", error);

        (code, _, error) = await RunAsync("export-labels", "--out", Path.Combine(_folder, "x.jsonl"), "--source", "gossip");
        Assert.Equal(2, code);
        Assert.Contains("unknown source 'gossip'", error);

        var dead = new ConfigurationBuilder().AddInMemoryCollection(new Dictionary<string, string?>
        {
            ["Storage:Provider"] = "postgres",
            ["Storage:ConnectionString"] = "Host=127.0.0.1;Port=1;Username=x;Password=y;Database=z;Timeout=2",
            ["Storage:MaxAttempts"] = "1",
        }).Build();
        var stderr = new StringWriter();
        code = await CliApp.RunAsync(["export-labels", "--out", Path.Combine(_folder, "x.jsonl")], new StringWriter(), stderr, dead);
        Assert.Equal(1, code);
        Assert.Contains("export-labels: database unavailable:", stderr.ToString());
    }
}
