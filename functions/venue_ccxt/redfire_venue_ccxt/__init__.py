"""The ccxt venue function: RedFire's gateway to crypto exchanges through ccxt (issue 17).

Only this function's package and layer carry ccxt; the paper path never imports it."""
