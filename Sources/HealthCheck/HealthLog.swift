import Logging

/// The process log (label `cutover`, the same handler `ProcessLog.bootstrap` installs), for the
/// checker thread's own failures. Health transitions are logged by whoever receives `onChange`.
let log = Logger(label: "cutover")
