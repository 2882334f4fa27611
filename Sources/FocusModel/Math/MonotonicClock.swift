#if canImport(Glibc)
    import Glibc
#endif

/// Seconds on the monotonic clock since an arbitrary origin, for timing phases of a run.
@inlinable
public func monotonicSeconds() -> Double {
    var spec = timespec()
    clock_gettime(CLOCK_MONOTONIC, &spec)
    return Double(spec.tv_sec) + Double(spec.tv_nsec) * 1e-9
}
