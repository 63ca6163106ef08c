"""Frame helpers of pywebsocket's `stream` module that handlers use to write
frames of their own."""

import struct

from . import common


def create_closing_handshake_body(code, reason):
    if code is None:
        return b""
    if isinstance(reason, str):
        reason = reason.encode("utf-8")
    return struct.pack("!H", code) + reason


def create_header(opcode, payload_length, fin, rsv1, rsv2, rsv3, mask):
    first = (fin << 7) | (rsv1 << 6) | (rsv2 << 5) | (rsv3 << 4) | opcode
    mask_bit = 0x80 if mask else 0
    if payload_length < 126:
        return bytes([first, mask_bit | payload_length])
    if payload_length < 1 << 16:
        return bytes([first, mask_bit | 126]) + struct.pack("!H", payload_length)
    return bytes([first, mask_bit | 127]) + struct.pack("!Q", payload_length)


def _frame(opcode, body):
    return create_header(opcode, len(body), 1, 0, 0, 0, 0) + body


def create_close_frame(body, mask=False, frame_filters=[]):
    return _frame(common.OPCODE_CLOSE, body)


def create_ping_frame(body, mask=False, frame_filters=[]):
    return _frame(common.OPCODE_PING, body)


def create_pong_frame(body, mask=False, frame_filters=[]):
    return _frame(common.OPCODE_PONG, body)


def create_text_frame(message, opcode=common.OPCODE_TEXT, fin=1, mask=False, frame_filters=[]):
    if isinstance(message, str):
        message = message.encode("utf-8")
    return create_header(opcode, len(message), fin, 0, 0, 0, 0) + message


def create_binary_frame(message, opcode=common.OPCODE_BINARY, fin=1, mask=False, frame_filters=[]):
    return create_header(opcode, len(message), fin, 0, 0, 0, 0) + message
