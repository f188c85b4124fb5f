import AsyncHTTPClient
public import Foundation
import NIOCore

/// SwiftNIO's AsyncHTTPClient: one pool of keep-alive connections per host, sized to the
/// channel's concurrency, redirects disallowed.
public final class AsyncHTTPClientTransport: HTTPTransport {
    let client: HTTPClient

    public init(maximumConnectionsPerHost: Int) {
        var pool = HTTPClient.Configuration.ConnectionPool()
        pool.concurrentHTTP1ConnectionsPerHostSoftLimit = maximumConnectionsPerHost
        pool.idleTimeout = .seconds(60)
        let configuration = HTTPClient.Configuration(redirectConfiguration: .disallow, connectionPool: pool)
        client = HTTPClient(eventLoopGroupProvider: .singleton, configuration: configuration)
    }

    deinit {
        // The client must be shut down before it is released; nobody waits on the result here.
        client.shutdown { _ in }
    }

    public func post(_ url: URL, headers: [(String, String)], body: Data, timeout: Duration) async throws -> HTTPTransportResponse {
        var request = HTTPClientRequest(url: url.absoluteString)
        request.method = .POST
        for (name, value) in headers { request.headers.add(name: name, value: value) }
        request.body = .bytes(ByteBuffer(bytes: body))
        do {
            let response = try await client.execute(request, timeout: .nanoseconds(Int64(timeout.components.seconds) * 1_000_000_000 + timeout.components.attoseconds / 1_000_000_000))
            // Read to the end so the connection can be reused; an answer past the limit is cut.
            var answer = ByteBuffer()
            for try await var part in response.body where answer.readableBytes < HTTPTransportResponse.bodyLimit {
                answer.writeBuffer(&part)
            }
            var fields: [String: String] = [:]
            for header in response.headers { fields[header.name.lowercased()] = header.value }
            return HTTPTransportResponse(status: Int(response.status.code), headers: fields,
                                         body: Data(answer.readableBytesView.prefix(HTTPTransportResponse.bodyLimit)))
        } catch let error as HTTPClientError where [.deadlineExceeded, .readTimeout, .connectTimeout].contains(error) {
            throw HTTPTransportError.timedOut
        } catch let error as HTTPTransportError {
            throw error
        } catch {
            throw HTTPTransportError.connectionFailed("\(error)")
        }
    }
}
