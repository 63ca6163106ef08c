"""Standard-library modules imported while the runner is built, so that they
are in its memory snapshot: a handler that imports them pays nothing, and
they need no file at run time. Chosen from what WPT's handlers import, and
what those modules import in turn."""

import argparse  # noqa: F401
import base64  # noqa: F401
import binascii  # noqa: F401
import calendar  # noqa: F401
import codecs  # noqa: F401
import collections  # noqa: F401
import collections.abc  # noqa: F401
import contextlib  # noqa: F401
import copy  # noqa: F401
import csv  # noqa: F401
import dataclasses  # noqa: F401
import datetime  # noqa: F401
import email.message  # noqa: F401
import email.parser  # noqa: F401
import email.utils  # noqa: F401
import encodings.idna  # noqa: F401
import encodings.latin_1  # noqa: F401
import encodings.utf_8  # noqa: F401
import enum  # noqa: F401
import fnmatch  # noqa: F401
import functools  # noqa: F401
import glob  # noqa: F401
import gzip  # noqa: F401
import hashlib  # noqa: F401
import hmac  # noqa: F401
import html  # noqa: F401
import html.parser  # noqa: F401
import http  # noqa: F401
import http.cookies  # noqa: F401
import importlib  # noqa: F401
import importlib.util  # noqa: F401
import io  # noqa: F401
import itertools  # noqa: F401
import json  # noqa: F401
import logging  # noqa: F401
import math  # noqa: F401
import mimetypes  # noqa: F401
import operator  # noqa: F401
import os  # noqa: F401
import os.path  # noqa: F401
import pickle  # noqa: F401
import random  # noqa: F401
import re  # noqa: F401
import secrets  # noqa: F401
import shutil  # noqa: F401
import string  # noqa: F401
import struct  # noqa: F401
import textwrap  # noqa: F401
import time  # noqa: F401
import traceback  # noqa: F401
import types  # noqa: F401
import typing  # noqa: F401
import urllib  # noqa: F401
import urllib.parse  # noqa: F401
import uuid  # noqa: F401
import xml.dom.minidom  # noqa: F401
import xml.etree.ElementTree  # noqa: F401
import zlib  # noqa: F401

import six  # noqa: F401
from sandserve_runtime import stdlib  # noqa: F401  (the rest, on demand)
import wptserve  # noqa: F401
import wptserve.handlers  # noqa: F401
import wptserve.request  # noqa: F401
import wptserve.response  # noqa: F401
import wptserve.stash  # noqa: F401
import wptserve.utils  # noqa: F401
