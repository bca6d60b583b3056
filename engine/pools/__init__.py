"""The pools' integer math, as the programs do it: constant product (Raydium AMM v4, CPMM) and
liquidity bins (Meteora DLMM). No I/O: the simulated cluster runs it on its state, the engine on
pool accounts it has read."""
