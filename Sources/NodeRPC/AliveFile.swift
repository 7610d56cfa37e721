import Foundation

/// A file whose modification time a process sets every second while its event loop runs:
/// what a liveness probe reads (`cognate probe --file`). Reading a local file cannot be
/// blocked by a flood of connections on the process's ports, as an HTTP probe can.
public struct AliveFile: Sendable {
    public let path: String

    public init(path: String) { self.path = path }

    /// Sets the file's time to now (creating it, 0600, the first time).
    public func touch() {
        if utimensat(AT_FDCWD, path, nil, 0) != 0 {
            let fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC, 0o600)
            if fd >= 0 { close(fd) }
        }
    }

    /// Seconds since the file was last touched (nil: no such file).
    public func age(now: Date = Date()) -> Double? {
        guard let attributes = try? FileManager.default.attributesOfItem(atPath: path),
            let modified = attributes[.modificationDate] as? Date
        else { return nil }
        return now.timeIntervalSince(modified)
    }
}
