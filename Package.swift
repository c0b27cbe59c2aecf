// swift-tools-version:6.0
import PackageDescription

/// The layers follow DESIGN.md: executables on top, C libraries at the bottom, every arrow pointing down.
let package = Package(
    name: "fleet",
    platforms: [.macOS(.v15)],
    products: [
        .executable(name: "fleetctl", targets: ["fleetctl"]),
        .executable(name: "fleet-agent", targets: ["fleet-agent"]),
    ],
    targets: [
        // System libraries from Debian (see SWIFT-C-NOTES.md).
        .systemLibrary(name: "COpenSSL", pkgConfig: "openssl", providers: [.apt(["libssl-dev"])]),
        .systemLibrary(name: "CSQLite", pkgConfig: "sqlite3", providers: [.apt(["libsqlite3-dev"])]),
        .systemLibrary(name: "CMosquitto", pkgConfig: "libmosquitto", providers: [.apt(["libmosquitto-dev"])]),
        .systemLibrary(name: "CYAML", pkgConfig: "yaml-0.1", providers: [.apt(["libyaml-dev"])]),
        // Functions standing in for C macros that do not import into Swift.
        .target(name: "CShim", dependencies: ["COpenSSL", "CMosquitto"]),

        // Lower layers.
        .target(name: "ArgumentParsing"),
        .target(name: "AtomicFiles"),
        .target(name: "FleetIdentity"),
        .target(name: "PKI", dependencies: ["COpenSSL", "CShim"]),
        .target(name: "Store", dependencies: ["CSQLite"]),
        .target(name: "MQTT", dependencies: ["CMosquitto", "CShim"]),

        // Domain layers.
        .target(name: "FleetCA", dependencies: ["PKI", "Store", "AtomicFiles", "FleetIdentity"]),
        .target(name: "AccessPolicy", dependencies: ["CYAML", "FleetIdentity"]),
        .target(
            name: "Provisioning", dependencies: ["FleetCA", "AccessPolicy", "AtomicFiles", "PKI", "Store", "MQTT"]
        ),
        .target(name: "TelemetryAgent", dependencies: ["PKI", "Store", "MQTT", "AtomicFiles", "FleetIdentity"]),
        .target(name: "TelemetryIngest", dependencies: ["Store", "MQTT", "FleetIdentity"]),

        // Executables.
        .executableTarget(
            name: "fleetctl",
            dependencies: [
                "ArgumentParsing", "AtomicFiles", "FleetCA", "AccessPolicy", "Provisioning", "TelemetryIngest", "PKI",
                "Store", "MQTT",
            ]
        ),
        .executableTarget(name: "fleet-agent", dependencies: ["ArgumentParsing", "TelemetryAgent", "PKI", "MQTT"]),
        // The issuance benchmark behind scripts/bench-issuance.sh (make bench).
        .executableTarget(name: "fleet-bench-issuance", dependencies: ["FleetCA", "PKI"]),
        // The renewal storm behind scripts/bench-renewal.sh (make bench).
        .executableTarget(name: "fleet-bench-renewal", dependencies: ["FleetCA", "Provisioning", "PKI", "MQTT"]),

        // Tests.
        .target(name: "TestSupport", dependencies: ["PKI", "MQTT"], path: "Tests/TestSupport"),
        .testTarget(name: "ArgumentParsingTests", dependencies: ["ArgumentParsing"]),
        .testTarget(name: "FleetIdentityTests", dependencies: ["FleetIdentity"]),
        .testTarget(name: "PKITests", dependencies: ["PKI", "TestSupport"]),
        .testTarget(name: "StoreTests", dependencies: ["Store", "TestSupport"]),
        .testTarget(name: "MQTTTests", dependencies: ["MQTT", "PKI", "TestSupport"]),
        .testTarget(name: "FleetCATests", dependencies: ["FleetCA", "PKI", "Store", "TestSupport"]),
        // The fixtures are read from the source tree (packageRoot()), not bundled.
        .testTarget(
            name: "AccessPolicyTests", dependencies: ["AccessPolicy", "AtomicFiles", "TestSupport"],
            exclude: ["Fixtures"]
        ),
        .testTarget(
            name: "ProvisioningTests",
            dependencies: [
                "Provisioning", "FleetCA", "AccessPolicy", "PKI", "MQTT", "TestSupport", "TelemetryAgent",
                "TelemetryIngest",
            ]
        ),
        .testTarget(
            name: "TelemetryAgentTests",
            dependencies: ["TelemetryAgent", "TelemetryIngest", "PKI", "MQTT", "Store", "TestSupport"]
        ),
    ],
    swiftLanguageModes: [.v6]
)
