"""Generated camera feeds for tests, benchmarks and the demo: real plate crops on moving vehicles."""
