/// The version `/status`, `cutover_build_info` and `cutover --version` report. An upgrade shows
/// here which binary serves.
public enum CutoverVersion {
    public static let string = "0.2.0"
}
