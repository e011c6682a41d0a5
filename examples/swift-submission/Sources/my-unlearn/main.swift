import UnlearnCLI

// Every `unlearn` command, with this package's algorithm registered next to the built-in ones.
UnlearnCLI.main(registering: [
  .init(name: "shrink-perturb") { config, _ in try ShrinkPerturb(config) }
])
