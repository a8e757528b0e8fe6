# Runs the PyTorch side of TorchInteropTests. Safetensors is written and read by hand (the package is not
# installed here): 8-byte little-endian header length, a JSON header {name: {dtype, shape, data_offsets}},
# then the raw little-endian bytes.
#   python3 state_dict_interop.py write DIR MODEL...  -> DIR/MODEL/torch.safetensors (state_dict), DIR/MODEL/io.safetensors (x, y)
#   python3 state_dict_interop.py check DIR MODEL...  -> loads DIR/MODEL/ours.safetensors with strict=True, runs
#                                                        DIR/MODEL/io.safetensors's x, prints "MODEL maxdiff D"
# One process for every model: importing torch is most of the time.
import json, struct, sys
import numpy as np
import torch
from torch import nn

CODES = {torch.float32: "F32", torch.float64: "F64", torch.int64: "I64", torch.int32: "I32"}
NUMPY = {"F32": np.float32, "F64": np.float64, "I64": np.int64, "I32": np.int32}


def save(path, tensors):
    header, blobs, offset = {"__metadata__": {"format": "pt"}}, [], 0
    for name, t in tensors.items():
        data = t.detach().contiguous().cpu().numpy().tobytes()
        header[name] = {"dtype": CODES[t.dtype], "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        blobs.append(data)
        offset += len(data)
    text = json.dumps(header).encode()
    text += b" " * (-len(text) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(text)) + text + b"".join(blobs))


def load(path):
    with open(path, "rb") as f:
        raw = f.read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8 : 8 + n])
    body = raw[8 + n :]
    out = {}
    for name, e in header.items():
        if name == "__metadata__":
            continue
        a, b = e["data_offsets"]
        arr = np.frombuffer(body[a:b], dtype=NUMPY[e["dtype"]]).reshape(e["shape"])
        out[name] = torch.from_numpy(arr.copy())
    return out


class LastStep(nn.Module):
    def forward(self, x):
        return x[:, -1, :]


class LstmHead(nn.Module):
    # Children named as the library's Sequential names them: "0" LSTM, "1" last step, "2" Linear.
    def __init__(self):
        super().__init__()
        self.add_module("0", nn.LSTM(3, 5, num_layers=2, batch_first=True))
        self.add_module("1", LastStep())
        self.add_module("2", nn.Linear(5, 2))

    def forward(self, x):
        y, _ = getattr(self, "0")(x)
        return getattr(self, "2")(getattr(self, "1")(y))


def build(model):
    if model == "mlp":
        return nn.Sequential(nn.Flatten(), nn.Linear(12, 8), nn.ReLU(), nn.Linear(8, 3)), (4, 3, 4)
    if model == "cnn":
        net = nn.Sequential(
            nn.Conv2d(1, 4, 3), nn.BatchNorm2d(4), nn.ReLU(), nn.MaxPool2d(2), nn.Flatten(), nn.Linear(36, 5)
        )
        return net, (4, 1, 8, 8)
    if model == "lstm":
        return LstmHead(), (4, 6, 3)
    raise SystemExit("unknown model " + model)


def run(mode, model, folder):
    torch.manual_seed(7)
    net, shape = build(model)
    if mode == "write":
        if model == "cnn":
            # Non-trivial running statistics and num_batches_tracked = 3.
            net.train()
            for _ in range(3):
                net(torch.randn(8, 1, 8, 8) * 2 + 1)
        net.eval()
        x = torch.randn(*shape)
        with torch.no_grad():
            y = net(x)
        save(folder + "/torch.safetensors", net.state_dict())
        save(folder + "/io.safetensors", {"x": x, "y": y})
        print(model, "ok")
    else:
        state = load(folder + "/ours.safetensors")
        for name, t in state.items():
            if name.endswith("num_batches_tracked") and t.dtype != torch.int64:
                raise SystemExit(name + " is " + str(t.dtype) + ", torch expects int64")
        net.load_state_dict(state, strict=True)
        net.eval()
        io = load(folder + "/io.safetensors")
        with torch.no_grad():
            y = net(io["x"])
        print("%s maxdiff %.9g" % (model, (y - io["y"]).abs().max().item()))
        if model == "cnn":
            print("cnn batches %d" % state["1.num_batches_tracked"].item())


def main():
    torch.set_num_threads(1)
    mode, folder = sys.argv[1:3]
    for model in sys.argv[3:]:
        run(mode, model, folder + "/" + model)


main()
