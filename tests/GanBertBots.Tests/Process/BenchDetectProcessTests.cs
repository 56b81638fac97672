namespace GanBertBots.Tests.Process;

/// <summary><c>bench detect</c> as a user runs it, kept small: the zero-shot scorer's table beside the detector's.</summary>
[Collection(ServiceProcessCollection.Name)]
public sealed class BenchDetectProcessTests
{
    [Fact]
    public async Task Bench_detect_prints_the_scorer_beside_the_detector_with_shares_and_the_ratio()
    {
        await using var bench = ServiceProcess.Start(null, null, "bench", "detect", "--batches", "1,2", "--tokens", "8", "--seconds", "0.05",
            "--threads", "1", "--scorers", "small", "--device", "cpu");
        Assert.Equal(0, await bench.WaitForExitAsync(TimeSpan.FromSeconds(180)));
        Assert.Contains("zero-shot scorer beside the detector", bench.Output);
        // One line per detector, length and batch: scorer/s, both/s, the two shares and the ratio to the detector alone.
        Assert.Matches(@"BERT-base shapes \(random\)\s+scratch:small 4x128\s+8\s+2\s+[\d.]+\s+[\d.]+\s+\d+ ?%\s+\d+ ?%\s+[\d.]+", bench.Output);
        Assert.Matches(@"small backbone\s+scratch:small 4x128\s+8\s+1\s+[\d.]+\s+[\d.]+\s+\d+ ?%\s+\d+ ?%\s+[\d.]+", bench.Output);

        await using var bad = ServiceProcess.Start(null, null, "bench", "detect", "--scorers", "huge");
        Assert.NotEqual(0, await bad.WaitForExitAsync(TimeSpan.FromSeconds(60)));
        Assert.Contains("--scorers: unknown size 'huge' (gpt2, small or none)", bad.Errors + bad.Output);
    }
}
