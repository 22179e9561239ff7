using VirtKernel.Model;

namespace VirtKernel.Tests.Model;

/// <summary>The B+ tree behind the FIB dumps, against SortedDictionary: random inserts, deletes,
/// value updates, and walks that resume after the tree changed under them.</summary>
public class SortedIndexTests
{
    [Fact]
    public void BehavesLikeASortedDictionary()
    {
        var rng = new Random(77);
        var t = new SortedIndex<ulong, int>();
        var reference = new SortedDictionary<ulong, int>();
        for (int i = 0; i < 200_000; i++)
        {
            ulong k = (ulong)rng.Next(0, 50_000);
            switch (rng.Next(4))
            {
                case 0:
                case 1:
                    Assert.Equal(reference.TryAdd(k, i), t.Add(k, i));
                    break;
                case 2:
                    Assert.Equal(reference.Remove(k), t.Remove(k));
                    break;
                default:
                    bool has = reference.ContainsKey(k);
                    if (has) reference[k] = -i;
                    Assert.Equal(has, t.SetValue(k, -i));
                    break;
            }
        }
        Assert.Equal(reference.Count, t.Count);
        Assert.Equal(reference.Values, t.Values);
        foreach (var (k, v) in reference)
        {
            Assert.True(t.TryGetValue(k, out var got));
            Assert.Equal(v, got);
        }
    }

    [Fact]
    public void WalkResumesAfterChanges()
    {
        var rng = new Random(5);
        var t = new SortedIndex<ulong, int>();
        for (int i = 0; i < 20_000; i++) t.Add((ulong)i * 2, i);
        var c = t.Start();
        ulong last = 0;
        bool first = true;
        int seen = 0;
        while (t.MoveNext(ref c))
        {
            Assert.True(first || c.Key > last, "keys go up");
            first = false;
            last = c.Key;
            seen++;
            // changes between steps, as a dump sees them between datagrams
            if (rng.Next(3) == 0) t.Remove((ulong)rng.Next(0, 40_000));
            if (rng.Next(3) == 0) t.Add((ulong)rng.Next(0, 40_000) | 1, 0);
        }
        Assert.True(seen > 1000);

        var s = t.StartAt(1000);
        Assert.True(t.MoveNext(ref s));
        Assert.True(s.Key >= 1000);
    }

    [Fact]
    public void EmptiesAndRefills()
    {
        var t = new SortedIndex<ulong, int>();
        for (int round = 0; round < 3; round++)
        {
            for (int i = 0; i < 10_000; i++) Assert.True(t.Add((ulong)i, i));
            for (int i = 0; i < 10_000; i++) Assert.True(t.Remove((ulong)i));
            Assert.Equal(0, t.Count);
            var c = t.Start();
            Assert.False(t.MoveNext(ref c));
        }
    }
}
