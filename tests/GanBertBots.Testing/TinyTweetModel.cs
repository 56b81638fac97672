namespace GanBertBots.Testing;

/// <summary>A real GPT-2 checkpoint small enough for tests (random weights, byte-level tokenizer), in a fresh temp folder.</summary>
public static class TinyTweetModel
{
    public static string CreateCheckpoint(long seed = 4321)
    {
        string dir = Directory.CreateTempSubdirectory("tweetckpt").FullName;
        ByteLevelGpt2.Create(dir, seed: seed);
        return dir;
    }
}
