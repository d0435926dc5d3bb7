@testable import DataPlane
import HTTP1
import Metrics
import Testing

/// The exchange's rules, without sockets: each event in a known state and the decision it gets.
@Suite struct ExchangeMachineTests {
    // MARK: starting and picking

    @Test func aRoutedRequestConnectsCONNECTIsRefusedAndNoPoolIs503() {
        let machine = ExchangeMachine()
        #expect(machine.start(isCONNECT: false, routed: true) == ExchangeDecision(.connect))
        #expect(machine.start(isCONNECT: false, routed: false) == ExchangeDecision(.answer(503)))
        #expect(machine.start(isCONNECT: true, routed: true) == ExchangeDecision(.answer(501)))
    }

    @Test func threeBackendsAtMostPerRequest() {
        var machine = ExchangeMachine()
        var granted: [Bool] = []
        for _ in 0..<4 { granted.append(machine.mayAttempt()) }
        #expect(granted == [true, true, true, false])
        #expect(machine.attempts == 3)
    }

    @Test func noBackendLeftIs503UntilOneWasTriedThen502() {
        let machine = ExchangeMachine()
        #expect(machine.noBackendLeft(triedAny: false) == ExchangeDecision(.answer(503)))
        #expect(machine.noBackendLeft(triedAny: true) == ExchangeDecision(.answer(502)))
        #expect(machine.localShortage() == ExchangeDecision(.answer(503)))
    }

    // MARK: a failing upstream

    @Test func aFailedConnectTriesTheNextBackendAndBlamesTheConnect() {
        let machine = ExchangeMachine()
        #expect(machine.upstreamFailed(established: false) == ExchangeDecision(.connect, blame: .connect))
    }

    @Test func aResetBeforeAnyRequestByteLeftIsRetriedAsAReset() {
        let machine = ExchangeMachine()
        #expect(machine.upstreamFailed(established: true) == ExchangeDecision(.connect, blame: .reset))
    }

    @Test func aSafeRequestWithoutBodyIsReplayedAfterItsBytesLeft() {
        var machine = ExchangeMachine()
        machine.replayLength = 80
        machine.upstreamBytesSent = 80
        #expect(machine.upstreamFailed(established: true) == ExchangeDecision(.replay, blame: .reset))
        machine.rewound()
        #expect(machine.upstreamBytesSent == 0)
    }

    @Test func anUnsafeRequestWhoseBytesLeftGets502() {
        var machine = ExchangeMachine()
        machine.upstreamBytesSent = 120
        #expect(machine.upstreamFailed(established: true) == ExchangeDecision(.answer(502), blame: .reset))
    }

    @Test func aFailureAfterTheAnswerBeganCutsTheClient() {
        var machine = ExchangeMachine()
        _ = machine.responseHead(status: 200, framing: .contentLength(10), wantsClose: false,
                                 requestAskedUpgrade: false, clientIsHTTP10: false)
        #expect(machine.upstreamFailed(established: true) == ExchangeDecision(.cut, blame: .reset))
        #expect(machine.answer(502) == ExchangeDecision(.cut))
        #expect(machine.malformedRequestBody() == ExchangeDecision(.cut))
    }

    @Test func aTruncatedOrMalformedBodyIsCutAndBlamed() {
        let machine = ExchangeMachine()
        #expect(machine.bodyTruncated() == ExchangeDecision(.cut, blame: .reset))
        #expect(machine.malformedBody() == ExchangeDecision(.cut, blame: .protocol))
        #expect(machine.malformedResponseHead() == ExchangeDecision(.answer(502), blame: .protocol))
        #expect(machine.closedMidHead() == ExchangeDecision(.answer(502), blame: .reset))
    }

    // MARK: timeouts and drains

    @Test func aConnectTimeoutGoesElsewhereAnAnswerTimeoutIs504() {
        let machine = ExchangeMachine()
        #expect(machine.timedOut(now: 10, established: false) == ExchangeDecision(.connect, blame: .connect))
        #expect(machine.timedOut(now: 10, established: true) == ExchangeDecision(.answer(504), blame: .timeout))
    }

    @Test func pastTheDrainDeadlineTheExchangeIsCutWhateverItsState() {
        var machine = ExchangeMachine()
        machine.drainDeadline = 100
        #expect(machine.timedOut(now: 100, established: true) == ExchangeDecision(.cut))
        #expect(machine.timedOut(now: 100, established: false) == ExchangeDecision(.cut))
        #expect(machine.timedOut(now: 99, established: true).action == .answer(504))
    }

    // MARK: response heads

    @Test func interimHeadsAreForwardedAndTheAnswerHasNotStarted() {
        var machine = ExchangeMachine()
        let decision = machine.responseHead(status: 100, framing: .none, wantsClose: false,
                                            requestAskedUpgrade: false, clientIsHTTP10: false)
        #expect(decision == ExchangeDecision(.forwardInterim))
        #expect(!machine.responseStarted)
        #expect(machine.responsePhase == .awaitingHead)
        // A backend dying after its 100 Continue may still be retried (nothing final was sent).
        #expect(machine.upstreamFailed(established: true).action == .connect)
    }

    @Test func a101TunnelsOnlyWhenTheRequestAskedForIt() {
        var asked = ExchangeMachine()
        let tunnel = asked.responseHead(status: 101, framing: .none, wantsClose: false,
                                        requestAskedUpgrade: true, clientIsHTTP10: false)
        #expect(tunnel == ExchangeDecision(.tunnel))
        #expect(asked.responseStarted)
        #expect(asked.cutStatus == (101, .cutShort))
        var unasked = ExchangeMachine()
        let refused = unasked.responseHead(status: 101, framing: .none, wantsClose: false, requestAskedUpgrade: false,
                                           clientIsHTTP10: false)
        #expect(refused == ExchangeDecision(.answer(502), blame: .protocol))
        #expect(!unasked.responseStarted)
    }

    @Test func aBodilessAnswerHEAD204Or304IsDoneWithItsHead() {
        // The parser gives HEAD answers, 204 and 304 no framing: the machine ends them at the head.
        for status in [200, 204, 304] {
            var machine = ExchangeMachine()
            let decision = machine.responseHead(status: status, framing: .none, wantsClose: false,
                                                requestAskedUpgrade: false, clientIsHTTP10: false)
            #expect(decision.action == .forwardFinal)
            #expect(machine.responsePhase == .done)
            #expect(machine.settled() == ExchangeDecision(.finish))
        }
    }

    @Test func aLengthAnswerHasABodyUnlessItsLengthIsZero() {
        var empty = ExchangeMachine()
        _ = empty.responseHead(status: 200, framing: .contentLength(0), wantsClose: false,
                               requestAskedUpgrade: false, clientIsHTTP10: false)
        #expect(empty.responsePhase == .done)
        var sized = ExchangeMachine()
        _ = sized.responseHead(status: 200, framing: .contentLength(5), wantsClose: false,
                               requestAskedUpgrade: false, clientIsHTTP10: false)
        #expect(sized.responsePhase == .body)
        #expect(sized.settled() == ExchangeDecision(.proceed))
        #expect(!sized.closeAfter)
    }

    @Test func aCloseDelimitedAnswerClosesTheClientConnection() {
        var machine = ExchangeMachine()
        _ = machine.responseHead(status: 200, framing: .untilClose, wantsClose: true,
                                 requestAskedUpgrade: false, clientIsHTTP10: false)
        #expect(machine.closeAfter)
        #expect(machine.responsePhase == .body)
    }

    @Test func aChunkedAnswerToAnHTTP10ClientIsDechunkedAndCloses() {
        var old = ExchangeMachine()
        _ = old.responseHead(status: 200, framing: .chunked, wantsClose: false, requestAskedUpgrade: false, clientIsHTTP10: true)
        #expect(old.dechunk && old.closeAfter)
        var modern = ExchangeMachine()
        _ = modern.responseHead(status: 200, framing: .chunked, wantsClose: false, requestAskedUpgrade: false, clientIsHTTP10: false)
        #expect(!modern.dechunk && !modern.closeAfter)
    }

    @Test func anEarlyAnswerToARequestStillSendingItsBodyEndsTheExchangeAndTheConnection() {
        var machine = ExchangeMachine(requestDone: false)
        _ = machine.responseHead(status: 413, framing: .contentLength(0), wantsClose: false,
                                 requestAskedUpgrade: false, clientIsHTTP10: false)
        #expect(machine.closeAfter)
        #expect(machine.settled() == ExchangeDecision(.finish))
    }

    @Test func anAnswerWaitsForTheRequestBodyOnAConnectionThatStaysOpen() {
        var machine = ExchangeMachine(requestDone: true)
        _ = machine.responseHead(status: 200, framing: .contentLength(0), wantsClose: false,
                                 requestAskedUpgrade: false, clientIsHTTP10: false)
        machine.requestDone = false
        machine.closeAfter = false
        #expect(machine.settled() == ExchangeDecision(.proceed))
        machine.requestDone = true
        #expect(machine.settled() == ExchangeDecision(.finish))
    }

    // MARK: accounting and reuse

    @Test func aCutBeforeTheAnswerIs499AndAfterItTheStatusTheClientSaw() {
        var machine = ExchangeMachine()
        #expect(machine.cutStatus == (499, .proxy))
        _ = machine.responseHead(status: 206, framing: .contentLength(9), wantsClose: false,
                                 requestAskedUpgrade: false, clientIsHTTP10: false)
        #expect(machine.cutStatus == (206, .cutShort))
    }

    @Test func anUpstreamConnectionIsReusedOnlyAfterACleanExchange() {
        let clean = UpstreamFacts(backendRetired: false, peerClosed: false, sawHangup: false, quiet: true, stopping: false)
        var machine = ExchangeMachine()
        #expect(machine.upstreamReusable(clean, responseFraming: .contentLength(3), responseWantsClose: false))
        #expect(!machine.upstreamReusable(clean, responseFraming: .untilClose, responseWantsClose: false))
        #expect(!machine.upstreamReusable(clean, responseFraming: .chunked, responseWantsClose: true))
        for spoiled in [
            UpstreamFacts(backendRetired: true, peerClosed: false, sawHangup: false, quiet: true, stopping: false),
            UpstreamFacts(backendRetired: false, peerClosed: true, sawHangup: false, quiet: true, stopping: false),
            UpstreamFacts(backendRetired: false, peerClosed: false, sawHangup: true, quiet: true, stopping: false),
            UpstreamFacts(backendRetired: false, peerClosed: false, sawHangup: false, quiet: false, stopping: false),
            UpstreamFacts(backendRetired: false, peerClosed: false, sawHangup: false, quiet: true, stopping: true),
        ] {
            #expect(!machine.upstreamReusable(spoiled, responseFraming: .contentLength(3), responseWantsClose: false))
        }
        // A request body not read whole leaves the upstream mid-request: never reused.
        machine.requestDone = false
        #expect(!machine.upstreamReusable(clean, responseFraming: .contentLength(3), responseWantsClose: false))
    }
}
