// swift-tools-version: 6.1
import PackageDescription

let strictSettings: [SwiftSetting] = [
    .enableUpcomingFeature("InternalImportsByDefault"),
    .enableUpcomingFeature("ExistentialAny"),
]

let package = Package(
    name: "nurture",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "nurture", targets: ["nurture"]),
        .library(name: "NurtureDSL", targets: ["NurtureDSL"]),
        .library(name: "NurtureEngine", targets: ["NurtureEngine"]),
    ],
    dependencies: [
        .package(url: "https://github.com/apple/swift-argument-parser", from: "1.8.2"),
        .package(url: "https://github.com/hummingbird-project/swift-mustache", from: "2.1.1"),
        .package(url: "https://github.com/groue/GRDB.swift", from: "7.10.0"),
        .package(url: "https://github.com/LebJe/TOMLKit", from: "0.6.0"),
        .package(url: "https://github.com/apple/swift-crypto", "3.12.3"..<"5.0.0"),
        .package(url: "https://github.com/swift-server/swift-service-lifecycle", from: "2.13.0"),
        .package(url: "https://github.com/apple/swift-log", from: "1.16.2"),
        .package(url: "https://github.com/hummingbird-project/hummingbird", from: "2.28.1"),
        .package(url: "https://github.com/swift-server/async-http-client", from: "1.37.0"),
        .package(url: "https://github.com/apple/swift-metrics", from: "2.13.0"),
        .package(url: "https://github.com/swift-server/swift-prometheus", from: "2.4.1"),
        // Already in the graph through hummingbird; named so the server can use their types directly.
        .package(url: "https://github.com/apple/swift-http-types", from: "1.8.0"),
        .package(url: "https://github.com/apple/swift-nio", from: "2.101.2"),
        .package(url: "https://github.com/apple/swift-nio-extras", from: "1.35.2"),
        .package(url: "https://github.com/vapor/postgres-nio", from: "1.33.2"),
        // X.509: Amazon SNS signs SES events with a certificate it names by URL; its public key
        // verifies them (swift-crypto alone reads keys, not certificates).
        .package(url: "https://github.com/apple/swift-certificates", from: "1.21.1"),
    ],
    targets: [
        // The vocabulary marketers write campaigns in, and the rules that check them. Pure: no I/O.
        .target(name: "NurtureDSL", swiftSettings: strictSettings),
        // The marketers' own files. Depends on the DSL only, so a campaign can never reach into the engine.
        // The plugin records which sources a build came from (`BuiltFrom`), for the edit loop.
        .target(
            name: "Campaigns",
            dependencies: ["NurtureDSL"],
            path: "Campaigns",
            exclude: ["Templates"],
            swiftSettings: strictSettings,
            plugins: ["CampaignFingerprint"]
        ),
        .executableTarget(name: "campaign-fingerprint", dependencies: ["NurtureDSL"], swiftSettings: strictSettings),
        .plugin(name: "CampaignFingerprint", capability: .buildTool(), dependencies: ["campaign-fingerprint"]),
        // Records and the storage protocols, split by role: what every backend stores, no rules, no database.
        .target(name: "NurtureStorage", dependencies: ["NurtureDSL"], swiftSettings: strictSettings),
        // The enrollment state machine, templates, local time, and the simulator that drives them.
        .target(
            name: "NurtureEngine",
            dependencies: [
                "NurtureDSL",
                "NurtureStorage",
                .product(name: "Mustache", package: "swift-mustache"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "TOMLKit", package: "TOMLKit"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "Metrics", package: "swift-metrics"),
            ],
            swiftSettings: strictSettings
        ),
        // Process-wide SQLite settings that only C can make (sqlite3_config is variadic).
        .target(name: "CSQLiteSettings", linkerSettings: [.linkedLibrary("sqlite3")]),
        // The embedded backend: one SQLite file (GRDB).
        .target(
            name: "NurtureSQLite",
            dependencies: ["NurtureStorage", "NurtureDSL", "CSQLiteSettings", .product(name: "GRDB", package: "GRDB.swift")],
            swiftSettings: strictSettings
        ),
        // The shared backend: PostgreSQL (postgres-nio), for many workers on many machines.
        .target(
            name: "NurturePostgres",
            dependencies: [
                "NurtureStorage", "NurtureDSL",
                .product(name: "PostgresNIO", package: "postgres-nio"),
                .product(name: "Logging", package: "swift-log"),
            ],
            swiftSettings: strictSettings
        ),
        // The HTTP side: the /v1 API, tracking and unsubscribe links, inbound provider webhooks,
        // health and metrics. Routes translate HTTP to engine calls; the rules live in the engine.
        .target(
            name: "NurtureServer",
            dependencies: [
                "NurtureEngine",
                .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "Prometheus", package: "swift-prometheus"),
                .product(name: "Metrics", package: "swift-metrics"),
                .product(name: "Crypto", package: "swift-crypto"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
                .product(name: "NIOCore", package: "swift-nio"),
                .product(name: "NIOHTTPTypes", package: "swift-nio-extras"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "X509", package: "swift-certificates"),
                .product(name: "AsyncHTTPClient", package: "async-http-client"),
            ],
            swiftSettings: strictSettings
        ),
        // The composition root: the database a URL names, and the engine assembled over it.
        .target(
            name: "NurtureDeployment",
            dependencies: ["NurtureEngine", "NurtureSQLite", "NurturePostgres", "NurtureDSL"],
            swiftSettings: strictSettings
        ),
        .executableTarget(
            name: "nurture",
            dependencies: [
                "NurtureEngine",
                "NurtureServer",
                "NurtureDeployment",
                "NurtureSQLite",
                "NurturePostgres",
                "Campaigns",
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
                .product(name: "Logging", package: "swift-log"),
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"),
                .product(name: "Prometheus", package: "swift-prometheus"),
            ],
            swiftSettings: strictSettings
        ),
        // Test support: the storage conformance suite every backend runs, and a loopback webhook
        // sink that records, fails, hangs or redirects on demand.
        .target(
            name: "NurtureTesting",
            dependencies: [
                "NurtureEngine", "NurtureStorage", "NurturePostgres", .product(name: "Hummingbird", package: "hummingbird"),
                .product(name: "HTTPTypes", package: "swift-http-types"),
            ],
            swiftSettings: strictSettings
        ),
        // Benchmarks of the durable engine; `scripts/bench.sh` runs them on a release build.
        .executableTarget(
            name: "nurture-bench",
            dependencies: [
                "NurtureEngine", "NurtureDeployment", "NurtureSQLite", "NurturePostgres", "NurtureTesting", "Campaigns",
                .product(name: "GRDB", package: "GRDB.swift"),
                .product(name: "ArgumentParser", package: "swift-argument-parser"),
            ],
            path: "Benchmarks",
            exclude: ["post.lua", "events.lua", "backlog-sqlite.sql", "backlog-postgres.sql"],
            swiftSettings: strictSettings
        ),
        .testTarget(name: "NurtureDSLTests", dependencies: ["NurtureDSL"], swiftSettings: strictSettings),
        .testTarget(
            name: "NurtureEngineTests",
            dependencies: ["NurtureEngine", "NurtureTesting", "Campaigns"],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NurtureStoreTests",
            dependencies: [
                "NurtureDeployment", "NurtureSQLite", "NurturePostgres", "NurtureTesting", "Campaigns",
                .product(name: "ServiceLifecycle", package: "swift-service-lifecycle"), .product(name: "Logging", package: "swift-log"),
                // To look at the database file as SQLite sees it (its pages), next to the store.
                .product(name: "GRDB", package: "GRDB.swift"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "NurtureServerTests",
            dependencies: [
                "NurtureServer", "NurtureDeployment", "NurtureSQLite", "NurtureTesting", "Campaigns",
                .product(name: "HummingbirdTesting", package: "hummingbird"),
            ],
            swiftSettings: strictSettings
        ),
        .testTarget(
            name: "EndToEndTests",
            dependencies: [
                "nurture", "NurtureTesting", "NurtureDeployment", "NurtureSQLite", "NurturePostgres", .product(name: "AsyncHTTPClient", package: "async-http-client"),
                .product(name: "NIOCore", package: "swift-nio"), .product(name: "NIOHTTP1", package: "swift-nio"),
            ],
            swiftSettings: strictSettings
        ),
    ],
    swiftLanguageModes: [.v6]
)
