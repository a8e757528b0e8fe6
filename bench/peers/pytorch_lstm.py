# The PyTorch peer of bench/LstmStep.fsx: nn.LSTM(28, 128, batch_first=True) on [128, 28, 28].
# usage: python3 bench/peers/pytorch_lstm.py [threads]   (OPENBLAS_NUM_THREADS=1 avoids oversubscription)
import time, json, torch, sys
torch.set_num_threads(int(sys.argv[1]) if len(sys.argv) > 1 else 2)
torch.manual_seed(0)
lstm = torch.nn.LSTM(28, 128, batch_first=True)
x = torch.randn(128, 28, 28)
def fb():
    out, (h, c) = lstm(x)
    h.sum().backward()
def fwd():
    with torch.no_grad():
        lstm(x)
for name, f in [("lstm_fwd_bwd", fb), ("lstm_fwd", fwd), ("lstm_fwd_bwd", fb)]:
    for _ in range(15): f()
    t = time.perf_counter(); n = 20
    for _ in range(n): f()
    print(json.dumps({"bench": name, "batch": 128, "T": 28, "hidden": 128, "ms": (time.perf_counter() - t) / n * 1000}))
