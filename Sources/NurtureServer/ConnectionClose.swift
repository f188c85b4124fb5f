import HTTPTypes
import NIOCore
import NIOHTTPTypes

/// Makes `Connection: close` on a response true: neither Hummingbird 2 (which looks only at the
/// request's header) nor NIO's HTTP/1 encoder ("we require that the user send that connection
/// close: we don't do it") closes a connection because a response says so.
///
/// After the last byte of such a response is written, the output is shut (the client reads the
/// answer, then EOF), and whatever the client still sends — typically the rest of a body that
/// was refused with 413 — is read and discarded instead of left unread, so a client that writes
/// its whole body before reading is never stuck in a write, and the kernel does not reset the
/// connection under the answer. The lingering ends when the client closes its side, after
/// `lingerIdle` without a byte from it, or after `lingerLimit` in all, whichever comes first.
final class ConnectionCloseHandler: ChannelDuplexHandler, RemovableChannelHandler {
    typealias InboundIn = HTTPRequestPart
    typealias InboundOut = HTTPRequestPart
    typealias OutboundIn = HTTPResponsePart
    typealias OutboundOut = HTTPResponsePart

    enum State {
        case open
        /// A final response head with `Connection: close` went out; its end has not.
        case closingAfterResponse
        /// The answer is written and the output shut; reading only to discard.
        case lingering
        case closed
    }

    private(set) var state = State.open
    let lingerIdle: TimeAmount
    let lingerLimit: TimeAmount
    private var idleTimer: Scheduled<Void>?
    private var limitTimer: Scheduled<Void>?

    init(lingerIdle: TimeAmount = .seconds(2), lingerLimit: TimeAmount = .seconds(30)) {
        self.lingerIdle = lingerIdle
        self.lingerLimit = lingerLimit
    }

    static func asksToClose(_ fields: HTTPFields) -> Bool {
        fields[values: .connection].contains { value in
            value.split(separator: ",").contains { $0.trimmingCharacters(in: .whitespaces).lowercased() == "close" }
        }
    }

    func write(context: ChannelHandlerContext, data: NIOAny, promise: EventLoopPromise<Void>?) {
        switch unwrapOutboundIn(data) {
        case .head(let head):
            // 1xx heads are interim: the final response still follows.
            if state == .open, head.status.kind != .informational, Self.asksToClose(head.headerFields) {
                state = .closingAfterResponse
            }
            context.write(data, promise: promise)
        case .body:
            context.write(data, promise: promise)
        case .end:
            guard state == .closingAfterResponse else {
                context.write(data, promise: promise)
                return
            }
            state = .lingering
            let written = context.eventLoop.makePromise(of: Void.self)
            context.writeAndFlush(data, promise: written)
            written.futureResult.assumeIsolated().whenComplete { [self] result in
                promise?.completeWith(result)
                guard case .success = result, state == .lingering else { return close(context) }
                context.close(mode: .output, promise: nil)
                limitTimer = context.eventLoop.assumeIsolated().scheduleTask(in: lingerLimit) { [self] in close(context) }
                resetIdleTimer(context)
            }
        }
    }

    func channelRead(context: ChannelHandlerContext, data: NIOAny) {
        switch state {
        case .open, .closingAfterResponse:
            context.fireChannelRead(data)
        case .lingering:
            // The rest of a refused body, or requests after the one that closed: dropped.
            resetIdleTimer(context)
        case .closed:
            break
        }
    }

    func userInboundEventTriggered(context: ChannelHandlerContext, event: Any) {
        if state == .lingering, let event = event as? ChannelEvent, event == .inputClosed {
            close(context)
            return
        }
        context.fireUserInboundEventTriggered(event)
    }

    func channelInactive(context: ChannelHandlerContext) {
        cancelTimers()
        state = .closed
        context.fireChannelInactive()
    }

    func handlerRemoved(context: ChannelHandlerContext) {
        cancelTimers()
    }

    private func resetIdleTimer(_ context: ChannelHandlerContext) {
        idleTimer?.cancel()
        idleTimer = context.eventLoop.assumeIsolated().scheduleTask(in: lingerIdle) { [self] in close(context) }
    }

    private func cancelTimers() {
        idleTimer?.cancel()
        limitTimer?.cancel()
        idleTimer = nil
        limitTimer = nil
    }

    private func close(_ context: ChannelHandlerContext) {
        guard state != .closed else { return }
        state = .closed
        cancelTimers()
        context.close(promise: nil)
    }
}
