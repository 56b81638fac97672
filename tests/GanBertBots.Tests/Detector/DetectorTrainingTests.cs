using GanBertBots.Models.GanBert;
using GanBertBots.Models.Runtime;
using GanBertBots.Training.Detector;

namespace GanBertBots.Tests.Detector;

public sealed class DetectorTrainingTests : IDisposable
{
    readonly string _dir = Directory.CreateTempSubdirectory("detector-train").FullName;
    public void Dispose() => Directory.Delete(_dir, recursive: true);

    DetectorTrainingOptions Options(string vocab, string outDir, int epochs, bool resume = false) => new()
    {
        Backbone = "small", VocabPath = vocab, OutputDirectory = outDir, Epochs = epochs, BatchSize = 16, MaxLength = 32,
        LabeledFraction = 0.5, Adversarial = true, Seed = 7, Resume = resume, LearningRate = 1e-2,
        SmallEncoder = SyntheticDetector.TinyEncoder(File.ReadLines(vocab).Count()) with { MaxPositions = 32 },
    };

    [Fact]
    public void GanBert_learns_two_vocabularies_from_half_of_the_labels_and_resumes()
    {
        string vocab = SyntheticDetector.WriteVocab(_dir);
        var train = SyntheticDetector.Rows(160, seed: 1);
        var test = SyntheticDetector.Rows(60, seed: 2);
        string outDir = Path.Combine(_dir, "run");

        var first = DetectorTrainer.Train(Options(vocab, outDir, epochs: 2), train, test);
        Assert.Equal(2, first.History.Count);
        var resumed = DetectorTrainer.Train(Options(vocab, outDir, epochs: 8, resume: true), train, test);
        Assert.Equal(Enumerable.Range(1, 8), resumed.History.Select(h => h.Epoch));
        Assert.Equal(first.History[0], resumed.History[0]);

        using var detector = GanBertDetector.Load(outDir, TorchPlacement.Cpu);
        var report = DetectorEvaluation.Evaluate(detector, test);
        Assert.True(report.Accuracy >= 0.9, $"accuracy {report.Accuracy:F3} on the synthetic task\n{report.Format()}");
        Assert.Equal(["human", "gpt2"], detector.Classes);

        // Starting over in a directory that holds a run is refused rather than silently overwritten.
        Assert.Throws<GanBertBots.Models.UserFacingException>(() => DetectorTrainer.Train(Options(vocab, outDir, epochs: 1), train));
    }

    [Fact]
    public void Labelled_subset_is_per_class_and_seeded()
    {
        var rows = SyntheticDetector.Rows(100, seed: 5);
        var a = DetectorTrainer.ChooseLabelled(rows, 0.1, seed: 3);
        Assert.Equal(a, DetectorTrainer.ChooseLabelled(rows, 0.1, seed: 3));
        Assert.Equal(5, a.Where((k, i) => k && rows[i].Label == "human").Count());
        Assert.Equal(5, a.Where((k, i) => k && rows[i].Label == "gpt2").Count());
        Assert.NotEqual(a, DetectorTrainer.ChooseLabelled(rows, 0.1, seed: 4));
    }

    [Fact]
    public void Metrics_match_hand_computation()
    {
        var r = DetectorEvaluation.Score(["a", "b"], ["a", "a", "b", "b", "c"], ["a", "b", "b", "b", "a"], realClass: "a");
        Assert.Equal(4, r.Scored);
        Assert.Equal(1, r.OutOfSet);
        Assert.Equal(0.75, r.Accuracy, 12);
        Assert.Equal((2.0 / 3 + 0.8) / 2, r.MacroF1, 12);       // F1(a) = 2/3, F1(b) = 0.8
        Assert.Equal(2 / Math.Sqrt(12), r.Mcc, 12);             // (TP·TN − FP·FN)/sqrt(...) = (1·2 − 0·1)/sqrt(1·2·2·3)
        Assert.Equal(1, r.Confusion[2, 0]);                      // the out-of-set 'c' row
        Assert.Equal(0.75, r.RealOrFakeAccuracy!.Value, 12);
    }

    [Fact]
    public void Csv_with_quoted_newlines_and_jsonl_load_with_clear_errors()
    {
        string csv = Path.Combine(_dir, "d.csv");
        File.WriteAllText(csv, "id,text,target\n1,\"line one\nline \"\"two\"\", end\",1\n2,plain,0\n");
        var rows = DetectorData.Load(csv, "text", "target");
        Assert.Equal(2, rows.Count);
        Assert.Equal("line one line \"two\", end", rows[0].Text);
        Assert.Equal("1", rows[0].Label);
        var e = Assert.Throws<GanBertBots.Models.UserFacingException>(() => DetectorData.Load(csv, "body", "target"));
        Assert.Contains("'body'", e.Message);

        string jsonl = Path.Combine(_dir, "d.jsonl");
        File.WriteAllText(jsonl, "{\"text\":\"a\\n\\nb\",\"label\":\"human\",\"source_id\":3}\n{\"text\":\"c\",\"label\":null,\"source_id\":4}\nnot json\n");
        var bad = Assert.Throws<GanBertBots.Models.UserFacingException>(() => DetectorData.Load(jsonl, "text", "label", "source_id"));
        Assert.Contains(":3", bad.Message);
        File.WriteAllLines(jsonl, File.ReadAllLines(jsonl).Take(2));
        var j = DetectorData.Load(jsonl, "text", "label", "source_id");
        Assert.Equal("a b", j[0].Text);
        Assert.Equal("3", j[0].Group);
        Assert.Null(j[1].Label);
    }
}
