"""Channel adapters: each turns its platform's input into `Incoming` and renders `Reply`."""
