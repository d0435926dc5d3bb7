import Foundation
import Logging
import Testing
@testable import ControlPlane

/// The process log's line format and how its level is chosen.
@Suite struct ProcessLogTests {
    @Test func oneLinePerEventWithTimeLevelMessageAndSortedMetadata() {
        let date = Date(timeIntervalSince1970: 1_700_000_000.1235)
        let line = StderrLogHandler.format(date: date, level: .warning, message: "reload rejected:\nsecond line",
                                           metadata: ["generation": "3", "file": "conf/a b.yaml", "empty": ""])
        #expect(line == #"2023-11-14T22:13:20.123Z warning reload rejected:\nsecond line empty="" file="conf/a b.yaml" generation=3"# + "\n")
    }

    @Test func theLevelComesFromTheOptionThenTheEnvironmentThenInfo() {
        #expect(ProcessLog.level(option: "debug", environment: ["CUTOVER_LOG_LEVEL": "error"]) == .debug)
        #expect(ProcessLog.level(option: nil, environment: ["CUTOVER_LOG_LEVEL": "ERROR"]) == .error)
        #expect(ProcessLog.level(option: nil, environment: [:]) == .info)
        #expect(ProcessLog.level(option: "loud", environment: [:]) == nil)
    }
}
