import Logging

/// The process log (label `cutover`, the same handler `ProcessLog.bootstrap` installs), for the
/// writer's reopen and write-failure lines.
let log = Logger(label: "cutover")
