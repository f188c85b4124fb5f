import Foundation
import NurtureTesting
import Testing
@testable import NurtureEngine

/// The SigV4 signer behind the SES preset, held to AWS's published test suite and to botocore,
/// the AWS SDK for Python's own signer (an independent implementation, installed here).
struct SigV4Tests {
    static let suite = AWSSignatureV4(accessKeyID: "AKIDEXAMPLE", secretAccessKey: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
                                      sessionToken: nil, region: "us-east-1", service: "service")
    /// 20150830T123600Z
    static let date = Date(timeIntervalSince1970: 1_440_938_160)

    /// AWS's Signature Version 4 test suite (aws4_testsuite, as vendored in botocore's
    /// tests/unit/auth/aws4_testsuite): get-vanilla, post-vanilla, post-x-www-form-urlencoded.
    /// Each `.creq`, `.sts` and `.authz` is matched exactly.
    @Test(arguments: [
        ("GET", [("Host", "example.amazonaws.com")], "",
         "GET\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "bb579772317eb040ac9ed261061d46c1f17a8133879d6129b6e1c25292927e63",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5fa00fa31553b73ebf1942676e86291e8372ff2a2260956d9b8aae1d763fbf31"),
        ("POST", [("Host", "example.amazonaws.com")], "",
         "POST\n/\n\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\nhost;x-amz-date\ne3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855",
         "553f88c9e4d10fc9e109e2aeb65f030801b70c2f6468faca261d401ae622fc87",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=host;x-amz-date, Signature=5da7c1a2acd57cee7505fc6676e4e544621c30862966e37dddb68e92efbe5d6b"),
        ("POST", [("Content-Type", "application/x-www-form-urlencoded"), ("Host", "example.amazonaws.com")], "Param1=value1",
         "POST\n/\n\ncontent-type:application/x-www-form-urlencoded\nhost:example.amazonaws.com\nx-amz-date:20150830T123600Z\n\ncontent-type;host;x-amz-date\n9095672bbd1f56dfc5b65f3e153adc8731a4a654192329106275f4c7b24d0b6e",
         "42a5e5bb34198acb3e84da4f085bb7927f2bc277ca766e6d19c73c2154021281",
         "AWS4-HMAC-SHA256 Credential=AKIDEXAMPLE/20150830/us-east-1/service/aws4_request, SignedHeaders=content-type;host;x-amz-date, Signature=ff11897932ad3f4e8b18135d722051e5ac45fc38421b1da7b9d196a0fe09473a"),
    ])
    func awsPublishedVectors(method: String, headers: [(String, String)], body: String, canonicalRequest: String, stringToSignHash: String, authorization: String) {
        let signed = Self.suite.sign(method: method, path: "/", headers: headers, payload: Data(body.utf8), at: Self.date)
        #expect(signed.canonicalRequest == canonicalRequest)
        #expect(signed.stringToSign == "AWS4-HMAC-SHA256\n20150830T123600Z\n20150830/us-east-1/service/aws4_request\n\(stringToSignHash)")
        #expect(signed.authorization == authorization)
    }

    /// An SES `SendEmail` request with random bodies and times, signed here and by botocore's
    /// `SigV4Auth` with its clock pinned to the same instant: the same Authorization every time.
    @Test func sesRequestsSignAsBotocoreSignsThem() throws {
        var cases: [[String: String]] = []
        var expected: [String] = []
        var generator = SystemRandomNumberGenerator()
        for n in 0..<20 {
            let signer = AWSSignatureV4(accessKeyID: "AKIA\(n)EXAMPLE", secretAccessKey: "secret/\(UInt64.random(in: 0...UInt64.max, using: &generator))+key",
                                        sessionToken: n % 3 == 0 ? "token\(n)/+=" : nil, region: ["us-east-1", "eu-west-1", "ap-south-1"][n % 3], service: "ses")
            let body = #"{"Content":{"Simple":{"Subject":{"Data":"Hi \#(n) é ✓","Charset":"UTF-8"}}},"Destination":{"ToAddresses":["a\#(n)@example.com"]}}"#
            let date = Date(timeIntervalSince1970: Double(Int.random(in: 1_600_000_000...1_900_000_000, using: &generator)))
            let host = "email.\(signer.region).amazonaws.com"
            let signed = signer.sign(method: "POST", path: "/v2/email/outbound-emails", headers: [("Host", host), ("Content-Type", "application/json")],
                                     payload: Data(body.utf8), at: date)
            expected.append(signed.authorization)
            cases.append(["key": signer.accessKeyID, "secret": signer.secretAccessKey, "token": signer.sessionToken ?? "", "region": signer.region,
                          "url": "https://\(host)/v2/email/outbound-emails", "body": body, "date": AWSSignatureV4.timestamp(date)])
        }
        let script = """
            import datetime, json, sys
            from unittest import mock
            import botocore.auth
            from botocore.awsrequest import AWSRequest
            from botocore.credentials import Credentials
            out = []
            for case in json.load(sys.stdin):
                moment = datetime.datetime.strptime(case["date"], "%Y%m%dT%H%M%SZ").replace(tzinfo=datetime.timezone.utc)
                request = AWSRequest(method="POST", url=case["url"], data=case["body"].encode("utf-8"), headers={"Content-Type": "application/json"})
                credentials = Credentials(case["key"], case["secret"], case["token"] or None)
                with mock.patch("botocore.auth.get_current_datetime", return_value=moment):
                    botocore.auth.SigV4Auth(credentials, "ses", case["region"]).add_auth(request)
                out.append(request.headers["Authorization"])
            print(json.dumps(out))
            """
        let printed = try IndependentSigner.python(script, input: try JSONSerialization.data(withJSONObject: cases))
        let botocore = try #require(try JSONSerialization.jsonObject(with: printed) as? [String])
        #expect(botocore.count == expected.count)
        for (ours, theirs) in zip(expected, botocore) {
            // botocore signs the session token too; with the same headers both lists of signed headers agree.
            #expect(ours == theirs)
        }
    }

    /// SES takes display names in 7-bit ASCII only: others travel as RFC 2047 encoded-words.
    @Test func sesSendersWithNonASCIINamesAreEncodedWords() {
        #expect(SESAPI.encodedMailbox("\"Maya from Larkspur\" <help@larkspur.example>") == "\"Maya from Larkspur\" <help@larkspur.example>")
        #expect(SESAPI.encodedMailbox("Café Crème <bonjour@cafe.example>") == "=?UTF-8?B?\(Data("Café Crème".utf8).base64EncodedString())?= <bonjour@cafe.example>")
        #expect(SESAPI.encodedMailbox("bonjour@cafe.example") == "bonjour@cafe.example")
    }
}
