public import Foundation
#if canImport(FoundationNetworking)
import FoundationNetworking
#endif

/// The HTTP client behind webhook channels, small enough to swap implementations and to
/// benchmark them against each other.
public protocol HTTPTransport: Sendable {
    /// Posts `body` and returns the response status and headers. Redirects are never followed.
    /// Throws `HTTPTransportError` for timeouts and connection failures.
    func post(_ url: URL, headers: [(String, String)], body: Data, timeout: Duration) async throws -> HTTPTransportResponse
}

public struct HTTPTransportResponse: Sendable {
    public var status: Int
    /// Header names lower-cased.
    public var headers: [String: String]
    /// The start of the answer (at most `bodyLimit` bytes): providers say why in it.
    public var body: Data

    public init(status: Int, headers: [String: String], body: Data = Data()) {
        self.status = status
        self.headers = headers
        self.body = body
    }

    /// More than any provider's error or batch answer for a few hundred messages.
    public static let bodyLimit = 1 << 20
}

public enum HTTPTransportError: Error, Sendable, CustomStringConvertible {
    case timedOut
    case connectionFailed(String)

    public var description: String {
        switch self {
        case .timedOut: "timed out"
        case .connectionFailed(let reason): "connection failed: \(reason)"
        }
    }
}

/// Foundation's URLSession (libcurl on Linux), with as many connections per host as the
/// channel's concurrency and redirects refused.
public final class URLSessionTransport: HTTPTransport {
    let session: URLSession

    public init(maximumConnectionsPerHost: Int) {
        let configuration = URLSessionConfiguration.ephemeral
        configuration.httpMaximumConnectionsPerHost = maximumConnectionsPerHost
        configuration.httpCookieStorage = nil
        configuration.urlCache = nil
        configuration.requestCachePolicy = .reloadIgnoringLocalCacheData
        session = URLSession(configuration: configuration, delegate: RefuseRedirects(), delegateQueue: nil)
    }

    deinit { session.finishTasksAndInvalidate() }

    public func post(_ url: URL, headers: [(String, String)], body: Data, timeout: Duration) async throws -> HTTPTransportResponse {
        var request = URLRequest(url: url)
        request.httpMethod = "POST"
        request.timeoutInterval = Double(timeout.components.seconds) + Double(timeout.components.attoseconds) / 1e18
        for (name, value) in headers { request.setValue(value, forHTTPHeaderField: name) }
        do {
            let (data, response) = try await session.upload(for: request, from: body)
            guard let http = response as? HTTPURLResponse else { throw HTTPTransportError.connectionFailed("not an HTTP response") }
            var fields: [String: String] = [:]
            for (name, value) in http.allHeaderFields {
                if let name = name as? String, let value = value as? String { fields[name.lowercased()] = value }
            }
            return HTTPTransportResponse(status: http.statusCode, headers: fields, body: data.prefix(HTTPTransportResponse.bodyLimit))
        } catch let error as URLError {
            throw error.code == .timedOut ? HTTPTransportError.timedOut : HTTPTransportError.connectionFailed(error.localizedDescription)
        }
    }

    /// A webhook answering with a redirect is misconfigured; following it could post lead data
    /// to a host nobody configured.
    final class RefuseRedirects: NSObject, URLSessionTaskDelegate, Sendable {
        func urlSession(
            _ session: URLSession, task: URLSessionTask, willPerformHTTPRedirection response: HTTPURLResponse,
            newRequest request: URLRequest, completionHandler: @escaping @Sendable (URLRequest?) -> Void
        ) {
            completionHandler(nil)
        }
    }
}
