/// A backend's operational state as active health checks see it (the administrative axis,
/// active or draining, is separate).
public enum HealthState: Sendable, Equatable, CaseIterable {
    /// Not judged yet: a new backend with a health check configured. Gets no traffic.
    case checking
    case healthy
    case unhealthy

    /// Whether new requests may go to the backend (as far as health is concerned).
    public var isUsable: Bool { self == .healthy }
}

/// Rise/fall hysteresis in one counter, as HAProxy keeps it (`check->health` in check-t.h): the
/// counter runs from 0 to `rise + fall - 1`; the backend is healthy in its upper `fall` values and
/// not in its lower `rise`. A flapping backend therefore needs `rise` successes in a row to come
/// in and `fall` failures in a row to go out; one odd result never moves it.
///
/// Truth table (`h` is the counter, `top = rise + fall - 1`):
///
/// | state      | result  | counter                       | new state                         |
/// |------------|---------|-------------------------------|-----------------------------------|
/// | checking   | success | h + 1                         | healthy (h = top) when h+1 = rise |
/// | checking   | failure | 0                             | unhealthy                         |
/// | unhealthy  | success | h + 1                         | healthy (h = top) when h+1 = rise, else checking (coming back) |
/// | unhealthy  | failure | 0                             | unhealthy                         |
/// | healthy    | success | top                           | healthy                           |
/// | healthy    | failure | h - 1                         | unhealthy (h = 0) when h-1 < rise |
///
/// A new backend's first failed check marks it unhealthy at once (as Envoy does): it was never
/// usable, so there is nothing to protect by waiting, and `/status` can tell "down" from "not
/// checked yet". Either way it needs `rise` successes in a row.
///
/// Value type, owned by the health checker (control plane); pure, no clock.
public struct Hysteresis: Sendable, Equatable {
    /// A change of state, returned by the check that caused it; nil when the state stayed.
    public struct Transition: Sendable, Equatable {
        public let from: HealthState
        public let to: HealthState

        public init(from: HealthState, to: HealthState) {
            self.from = from
            self.to = to
        }
    }

    /// Consecutive successes needed to become healthy (at least 1).
    public let rise: Int
    /// Consecutive failures needed to become unhealthy (at least 1).
    public let fall: Int
    public private(set) var state: HealthState
    /// HAProxy's `check->health`: 0…rise+fall-1.
    public private(set) var counter: Int

    /// Starts in `state`, at the edge of it: `.healthy` needs `fall` failures to go out,
    /// `.checking` and `.unhealthy` need `rise` successes to come in. Passing the state a backend
    /// had under the previous config carries it across a reload that changed `rise` or `fall`.
    public init(rise: Int, fall: Int, state: HealthState = .checking) {
        self.rise = max(1, rise)
        self.fall = max(1, fall)
        self.state = state
        self.counter = state == .healthy ? self.rise + self.fall - 1 : 0
    }

    /// Records one check result; returns the transition it caused, if any.
    public mutating func record(success: Bool) -> Transition? {
        let before = state
        let top = rise + fall - 1
        if success {
            if counter < top { counter += 1 }
            if counter >= rise {
                counter = top
                state = .healthy
            } else if state == .unhealthy {
                // Coming back: shown as `checking`, still unusable until `rise` in a row.
                state = .checking
            }
        } else {
            if counter > 0 { counter -= 1 }
            if counter < rise {
                counter = 0
                state = .unhealthy
            }
        }
        return before == state ? nil : Transition(from: before, to: state)
    }
}
