"""The message format between the trusted grader and the sandboxed submission: data, never code.

The grader must not unpickle anything a submission sends (unpickling runs code). A message is a
JSON header plus raw byte blobs for tensors and arrays:

    u32 header length | header (UTF-8 JSON) | u64 blob length | blob | u64 | blob ...

Values are plain JSON, or tagged objects ``{"$": kind, ...}`` for tuples, complex numbers,
tensors, numpy arrays, torch generators (their state) and handles (an object that stays in the
submission's process, named by a number). Decoding checks every dtype against an allow-list and
every shape against its blob's length, and caps sizes, so a hostile peer can send wrong answers
but nothing else.

One more kind travels only from the grader to the submission: a small network of the grader's
(an `nn.Sequential` of the layers in `NETWORK_LAYERS`) as its layer list and weights, which the
submission rebuilds from torch.nn as a `GraderNetwork`. A test can thereby hand a critic to a
student's function (a gradient penalty needs one) without any code crossing over; the gradient
of the answer with respect to that network's weights comes back (see `worker.Worker.call`).
"""

from __future__ import annotations

import json
import math
import struct
from dataclasses import dataclass
from typing import Any, BinaryIO

import numpy as np
import torch

MAX_MESSAGE_BYTES = 1 << 28  # 256 MiB: a hostile peer cannot make the grader allocate more
MAX_HEADER_BYTES = 4 << 20  # the JSON part (parsing costs many times its size in memory)
MAX_DEPTH = 64
TORCH_DTYPES = {
    str(d).removeprefix("torch."): d
    for d in (
        torch.float16,
        torch.bfloat16,
        torch.float32,
        torch.float64,
        torch.complex64,
        torch.complex128,
        torch.uint8,
        torch.int8,
        torch.int16,
        torch.int32,
        torch.int64,
        torch.bool,
    )
}
NUMPY_DTYPES = {
    "float16",
    "float32",
    "float64",
    "complex64",
    "complex128",
    "uint8",
    "int8",
    "int16",
    "int32",
    "int64",
    "bool",
}


# Layers a grader's network may hold, with the constructor arguments that describe each.
NETWORK_LAYERS: dict[str, tuple[str, ...]] = {
    "Linear": ("in_features", "out_features", "bias"),
    "LeakyReLU": ("negative_slope",),
    "ReLU": (),
    "Tanh": (),
    "Sigmoid": (),
    "Softplus": ("beta", "threshold"),
    "Flatten": ("start_dim", "end_dim"),
}
MAX_NETWORK_LAYERS = 64


class GraderNetwork(torch.nn.Sequential):
    """A network the grader sent (rebuilt in the submission's process from layers and weights)."""


class WireError(RuntimeError):
    """A message that breaks the format (a crashed or hostile peer)."""


@dataclass(frozen=True)
class Handle:
    """An object that lives in the submission's process: its number there, and what it is."""

    id: int
    type_name: str = "object"
    is_module: bool = False


def encode(value: Any, blobs: list[bytes], to_handle=None, depth: int = 0) -> Any:
    """`value` as JSON-able data, appending raw bytes to `blobs`. Objects that are not data
    become handles through `to_handle(obj) -> Handle` (the submission's side), or a TypeError."""
    if depth > MAX_DEPTH:
        raise TypeError("the value is nested too deeply to send")
    if value is None or isinstance(value, (bool, str)):
        return value
    if isinstance(value, int):
        return value if abs(value) < 2**63 else {"$": "bigint", "v": str(value)}
    if isinstance(value, float):
        return value if math.isfinite(value) else {"$": "float", "v": repr(value)}
    if isinstance(value, complex):
        return {"$": "complex", "re": encode(value.real, blobs), "im": encode(value.imag, blobs)}
    if isinstance(value, torch.Tensor) and type(value) in (torch.Tensor, torch.nn.Parameter):
        t = value.detach().to("cpu").contiguous()
        dtype = str(t.dtype).removeprefix("torch.")
        if dtype not in TORCH_DTYPES:
            raise TypeError(f"cannot send a tensor of dtype {t.dtype}")
        raw = t.view(torch.int16) if t.dtype == torch.bfloat16 else t
        blobs.append(raw.numpy().tobytes())
        return {
            "$": "tensor",
            "dtype": dtype,
            "shape": list(t.shape),
            "blob": len(blobs) - 1,
            "grad": bool(value.requires_grad),
        }
    if isinstance(value, np.ndarray) and value.dtype.name in NUMPY_DTYPES:
        blobs.append(np.ascontiguousarray(value).tobytes())
        return {
            "$": "ndarray",
            "dtype": value.dtype.name,
            "shape": list(value.shape),
            "blob": len(blobs) - 1,
        }
    if isinstance(value, np.generic) and value.dtype.name in NUMPY_DTYPES:
        return {"$": "npscalar", "array": encode(np.asarray(value), blobs, depth=depth + 1)}
    if isinstance(value, torch.Generator) and value.device.type == "cpu":
        return {"$": "generator", "state": encode(value.get_state(), blobs)}
    if isinstance(value, torch.dtype):
        return {"$": "torch_dtype", "name": str(value).removeprefix("torch.")}
    if isinstance(value, (list, tuple)):
        items = [encode(v, blobs, to_handle, depth + 1) for v in value]
        return {"$": "tuple" if isinstance(value, tuple) else "list", "items": items}
    if isinstance(value, dict) and all(isinstance(k, str) for k in value):
        items = {k: encode(v, blobs, to_handle, depth + 1) for k, v in value.items()}
        return {"$": "dict", "items": items}
    if isinstance(value, Handle):
        return {"$": "handle", "id": value.id}
    if isinstance(value, torch.nn.Module) and to_handle is None:
        return _encode_network(value, blobs)
    if to_handle is not None:
        h = to_handle(value)
        return {
            "$": "handle",
            "id": h.id,
            "type": h.type_name,
            "module": h.is_module,
        }
    raise TypeError(f"cannot send a {type(value).__name__} to the other side")


def decode(
    data: Any, blobs: list[bytes], from_handle=None, depth: int = 0, networks: bool = False
) -> Any:
    """The inverse of `encode`, checking everything; handles go through `from_handle(Handle)`.
    Networks are rebuilt only where `networks` is true (the submission's side)."""
    if depth > MAX_DEPTH:
        raise WireError("nested too deeply")
    if data is None or isinstance(data, (bool, int, float, str)):
        return data
    if isinstance(data, list):
        raise WireError("untagged list")
    if not isinstance(data, dict):
        raise WireError(f"unexpected {type(data).__name__}")
    kind = data.get("$")
    if kind == "bigint":
        return int(str(data["v"]))
    if kind == "float":
        return float(str(data["v"]))
    if kind == "complex":
        return complex(float(data["re"]), float(data["im"]))
    if kind == "tensor":
        return _tensor(data, blobs)
    if kind == "ndarray":
        return _array(data, blobs)
    if kind == "npscalar":
        array = decode(data["array"], blobs, depth=depth + 1)
        if not isinstance(array, np.ndarray) or array.shape != ():
            raise WireError("a numpy scalar must be a 0-d array")
        return array[()]
    if kind == "generator":
        state = _tensor(data["state"], blobs)
        generator = torch.Generator()
        try:
            generator.set_state(state)
        except RuntimeError as error:
            raise WireError(f"invalid generator state: {error}") from error
        return generator
    if kind == "torch_dtype":
        name = str(data["name"])
        if name not in TORCH_DTYPES:
            raise WireError(f"dtype {name!r} is not allowed")
        return TORCH_DTYPES[name]
    if kind in ("list", "tuple"):
        items = data.get("items")
        if not isinstance(items, list):
            raise WireError("a list without items")
        out = [decode(v, blobs, from_handle, depth + 1, networks) for v in items]
        return tuple(out) if kind == "tuple" else out
    if kind == "dict":
        items = data.get("items")
        if not isinstance(items, dict):
            raise WireError("a dict without items")
        return {
            str(k): decode(v, blobs, from_handle, depth + 1, networks) for k, v in items.items()
        }
    if kind == "handle":
        handle = Handle(
            int(data["id"]),
            str(data.get("type", "object"))[:200],
            bool(data.get("module", False)),
        )
        return from_handle(handle) if from_handle else handle
    if kind == "network":
        if not networks:
            raise WireError("a network may only be sent to the submission")
        return _decode_network(data, blobs)
    raise WireError(f"unknown kind {kind!r}")


def _encode_network(net: torch.nn.Module, blobs: list[bytes]) -> dict:
    allowed = ", ".join(NETWORK_LAYERS)
    if type(net) not in (torch.nn.Sequential, GraderNetwork):
        raise TypeError(
            f"a network sent to the submission must be an nn.Sequential of {allowed} layers; "
            f"received a {type(net).__name__}"
        )
    layers = []
    for index, layer in enumerate(net):
        kind = type(layer).__name__
        if kind not in NETWORK_LAYERS or type(layer) is not getattr(torch.nn, kind):
            raise TypeError(
                f"a network sent to the submission may hold only {allowed} layers; layer "
                f"{index} is a {kind}"
            )
        args = {name: getattr(layer, name) for name in NETWORK_LAYERS[kind] if name != "bias"}
        if kind == "Linear":
            args["bias"] = layer.bias is not None
        params = [encode(p, blobs) for p in layer.parameters()]
        layers.append({"kind": kind, "args": args, "params": params})
    return {"$": "network", "layers": layers}


def _decode_network(data: dict, blobs: list[bytes]) -> GraderNetwork:
    layers = data.get("layers")
    if not isinstance(layers, list) or len(layers) > MAX_NETWORK_LAYERS:
        raise WireError("a network needs a list of at most 64 layers")
    built = []
    for spec in layers:
        if not isinstance(spec, dict) or spec.get("kind") not in NETWORK_LAYERS:
            raise WireError(f"a network layer must be one of {', '.join(NETWORK_LAYERS)}")
        kind, args = spec["kind"], spec.get("args")
        if not isinstance(args, dict) or set(args) != set(NETWORK_LAYERS[kind]):
            raise WireError(f"a {kind} layer needs exactly the arguments {NETWORK_LAYERS[kind]}")
        for name, value in args.items():
            ok = isinstance(value, bool) if name == "bias" else isinstance(value, (int, float))
            if not ok or (isinstance(value, float) and not math.isfinite(value)):
                raise WireError(f"{kind}: invalid argument {name}={value!r}")
        params = spec.get("params")
        if not isinstance(params, list):
            raise WireError(f"a {kind} layer needs a list of parameters")
        tensors = [_tensor(p, blobs) if isinstance(p, dict) else None for p in params]
        if kind == "Linear":
            n_in, n_out = args["in_features"], args["out_features"]
            shapes = [(n_out, n_in)] + ([(n_out,)] if args["bias"] else [])
        else:
            shapes = []
        if [None if t is None else tuple(t.shape) for t in tensors] != shapes or any(
            not t.dtype.is_floating_point for t in tensors
        ):
            raise WireError(f"a {kind} layer's parameters must be float tensors of shapes {shapes}")
        if kind == "Linear":  # its memory is the weights' own, already bounded by the message
            layer = torch.nn.Linear(n_in, n_out, bias=args["bias"], device="meta")
            layer.weight = torch.nn.Parameter(tensors[0])
            if args["bias"]:
                layer.bias = torch.nn.Parameter(tensors[1])
        else:
            layer = getattr(torch.nn, kind)(**args)
        built.append(layer)
    return GraderNetwork(*built)


def _blob(data: dict, blobs: list[bytes]) -> bytes:
    index = data.get("blob")
    if not isinstance(index, int) or not 0 <= index < len(blobs):
        raise WireError("a tensor refers to a missing blob")
    return blobs[index]


def _shape(data: dict) -> list[int]:
    shape = data.get("shape")
    if not isinstance(shape, list) or not all(isinstance(s, int) and s >= 0 for s in shape):
        raise WireError(f"invalid shape {shape!r}")
    if len(shape) > 16:
        raise WireError("too many dimensions")
    return shape


def _tensor(data: dict, blobs: list[bytes]) -> torch.Tensor:
    name = data.get("dtype")
    if name not in TORCH_DTYPES:
        raise WireError(f"tensor dtype {name!r} is not allowed")
    dtype, shape, raw = TORCH_DTYPES[name], _shape(data), _blob(data, blobs)
    itemsize = torch.empty((), dtype=dtype).element_size()
    if math.prod(shape) * itemsize != len(raw):
        raise WireError(f"a tensor of shape {shape} and dtype {name} cannot hold {len(raw)} bytes")
    if not raw:
        return torch.empty(shape, dtype=dtype)
    storage_dtype = torch.int16 if dtype == torch.bfloat16 else dtype
    t = torch.frombuffer(bytearray(raw), dtype=storage_dtype).reshape(shape)
    return t.view(torch.bfloat16) if dtype == torch.bfloat16 else t


def _array(data: dict, blobs: list[bytes]) -> np.ndarray:
    name = data.get("dtype")
    if name not in NUMPY_DTYPES:
        raise WireError(f"array dtype {name!r} is not allowed")
    shape, raw = _shape(data), _blob(data, blobs)
    dtype = np.dtype(name)
    if math.prod(shape) * dtype.itemsize != len(raw):
        raise WireError(f"an array of shape {shape} and dtype {name} cannot hold {len(raw)} bytes")
    return np.frombuffer(raw, dtype=dtype).reshape(shape).copy()


def pack(message: dict, to_handle=None) -> bytes:
    """One message (a dict of values) as bytes."""
    blobs: list[bytes] = []
    header = json.dumps(encode(message, blobs, to_handle), allow_nan=False).encode()
    parts = [struct.pack("<I", len(header)), header]
    for blob in blobs:
        parts += [struct.pack("<Q", len(blob)), blob]
    return struct.pack("<I", len(blobs)) + b"".join(parts)


def send(stream: BinaryIO, message: dict, to_handle=None) -> None:
    """Write one message to a binary stream and flush it."""
    stream.write(pack(message, to_handle))
    stream.flush()


def receive(stream: BinaryIO, from_handle=None, networks: bool = False) -> dict:
    """Read one message; WireError if the stream ends or breaks the format. `networks`: the
    submission's side, which rebuilds the grader's networks."""
    count = struct.unpack("<I", _read(stream, 4))[0]
    size = struct.unpack("<I", _read(stream, 4))[0]
    if size > MAX_HEADER_BYTES:
        raise WireError("message header too large")
    try:
        header = json.loads(_read(stream, size))
    except (UnicodeDecodeError, json.JSONDecodeError) as error:
        raise WireError(f"invalid message header: {error}") from error
    if count > 100_000:
        raise WireError("too many blobs")
    blobs, total = [], 0
    for _ in range(count):
        length = struct.unpack("<Q", _read(stream, 8))[0]
        total += length
        if total > MAX_MESSAGE_BYTES:
            raise WireError("message too large")
        blobs.append(_read(stream, length))
    message = decode(header, blobs, from_handle, networks=networks)
    if not isinstance(message, dict):
        raise WireError("a message must be a dict")
    return message


def _read(stream: BinaryIO, n: int) -> bytes:
    chunks, left = [], n
    while left:
        chunk = stream.read(left)
        if not chunk:
            raise WireError("the other side closed the connection")
        chunks.append(chunk)
        left -= len(chunk)
    return b"".join(chunks)
