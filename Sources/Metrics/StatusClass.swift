/// `cutover_requests_total{code}` counts by status class: `1xx` … `5xx`.
public enum StatusClass {
    public static let count = 5
    public static let labels = ["1xx", "2xx", "3xx", "4xx", "5xx"]

    /// The class index (0 for 1xx … 4 for 5xx) of a status code; anything outside 100–599 is
    /// counted as 5xx, as a proxy would have to answer it.
    @inline(__always)
    public static func index(of status: Int) -> Int {
        let hundreds = status / 100
        return hundreds >= 1 && hundreds <= 5 ? hundreds - 1 : 4
    }
}
