import UnlearnCLI

// The `unlearn` executable: the command line with the built-in algorithms.
// A participant's own executable calls `UnlearnCLI.main(registering:)` with theirs.
UnlearnCLI.main()
