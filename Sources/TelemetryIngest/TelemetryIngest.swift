// The TelemetryIngest module: the reference consumer that proves delivery.
