using System.IO.MemoryMappedFiles;

namespace VirtKernel.Daemon.Server;

/// <summary>STATE/views.gen: a counter shared with every shimmed process (mapped read-only by the
/// shim), incremented for every request that may change what the views show. The shim keeps what it
/// learnt of the sysctl tree (VK_CTL_VIEW_DIR listings) only while the counter stays the same, so
/// that stat and read-only opens of /proc/sys/net need no round trip yet always show the model as
/// it is. See shim/vk_proto.h, "Views".</summary>
public sealed unsafe class ViewsGeneration : IDisposable
{
    public const string FileName = "views.gen";

    private readonly MemoryMappedFile _file;
    private readonly MemoryMappedViewAccessor _view;
    private readonly long* _counter;

    /// <param name="dir">The state directory (a tmpfs: the page is shared, never written back).</param>
    public ViewsGeneration(string dir)
    {
        string path = Path.Combine(dir, FileName);
        using (var fs = new FileStream(path, FileMode.Create, FileAccess.ReadWrite))
            fs.SetLength(4096);
        _file = MemoryMappedFile.CreateFromFile(path, FileMode.Open, null, 4096, MemoryMappedFileAccess.ReadWrite);
        _view = _file.CreateViewAccessor(0, 4096);
        byte* p = null;
        _view.SafeMemoryMappedViewHandle.AcquirePointer(ref p);
        _counter = (long*)(p + _view.PointerOffset);
        // never 0, and not what a previous daemon on this state directory counted up to
        Volatile.Write(ref *_counter, DateTime.UtcNow.Ticks);
    }

    public long Value => Volatile.Read(ref *_counter);

    /// <summary>Something may have changed: every listing handed out so far is stale. Called before
    /// the answer to the request that changes it is sent.</summary>
    public void Bump() => Interlocked.Increment(ref *_counter);

    public void Dispose()
    {
        _view.SafeMemoryMappedViewHandle.ReleasePointer();
        _view.Dispose();
        _file.Dispose();
    }
}
