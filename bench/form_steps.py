"""Malformed answers and real questions typed at a form step: kept, answered, or accepted.

    .venv/bin/python bench/form_steps.py

Each case runs through the engine (lexical matcher, memory stores): a prospect agrees to the
form, answers up to the step, then types the case. A malformed answer must be kept at its step
(asked again with the reason), never accepted nor answered as a question; a real question must
be answered, the step kept. Written with the rule, so a check of it, not a held-out figure. To
compare with an older commit: `git archive <commit> | tar -x -C /tmp/old`, copy this file to
/tmp/old/bench/ and run it there (it imports the code of the tree it sits in).
"""

from __future__ import annotations

import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))  # the chat helper lives with the tests

from intents.catalog import PACKAGED_DIR  # noqa: E402
from intents.knowledge import KnowledgeBase  # noqa: E402
from tests.chat import Chat, memory_stores  # noqa: E402

EN = {"name": "Ann Lee", "company": "Acme GmbH", "email": "ann@acme.de", "country": "Germany"}
ZH = {
    "name": "王小明",
    "company": "示例科技有限公司",
    "email": "wang@example.cn",
    "country": "德国",
}
MALFORMED = [
    ("zh", "email", "wang@"),
    ("zh", "email", "wang@example"),
    ("zh", "email", "张三@公司。com"),
    ("zh", "email", "ｗａｎｇ＠ｅｘａｍｐｌｅ．ｃｎ"),
    ("zh", "email", "wang at example dot cn"),
    ("zh", "email", "wang@lingang?"),
    ("zh", "email", "王小明艾特qq点com"),
    ("en", "email", "john@"),
    ("en", "email", "john at gmail"),
    ("en", "email", "ann.acme.de"),
    ("en", "email", "ann@acme"),
    ("en", "email", "john@gmail?"),
    ("en", "country", "Acme Ltd"),
    ("en", "country", "Shanghai Semiconductor Co."),
    ("zh", "country", "上海半导体有限公司"),
    ("zh", "country", "示例科技有限公司"),
    ("en", "country", "Lingang"),
]
QUESTIONS = [
    ("zh", "email", "临港在哪里？"),
    ("en", "email", "where is Lingang?"),
    ("en", "country", "what is the corporate tax rate?"),
    ("zh", "country", "外资企业可以在临港注册吗"),
    ("en", "name", "how big is Lingang?"),
]
RESUME = ("Back to your details", "我们继续填写您的信息")


def outcome(knowledge: KnowledgeBase, lang: str, step: str, text: str) -> str:
    """ "kept", "question" or "accepted"."""
    chat = Chat.over(knowledge, memory_stores())
    chat.say("我想联系顾问" if lang == "zh" else "I'd like to talk to a consultant")
    chat.press("同意" if lang == "zh" else "I agree")
    for field, value in (ZH if lang == "zh" else EN).items():
        if field == step:
            break
        chat.say(value)
    said = chat.say(text)
    if chat.replies[-1].field != step:
        return "accepted"
    return "question" if any(words in said for words in RESUME) else "kept"


def main() -> None:
    knowledge = KnowledgeBase(PACKAGED_DIR)
    kept = answered = 0
    for case in MALFORMED:
        result = outcome(knowledge, *case)
        kept += result == "kept"
        print(f"malformed {case}: {result}")
    for case in QUESTIONS:
        result = outcome(knowledge, *case)
        answered += result == "question"
        print(f"question  {case}: {result}")
    print(f"malformed answers kept at their step: {kept}/{len(MALFORMED)}")
    print(f"real questions answered, step kept: {answered}/{len(QUESTIONS)}")


if __name__ == "__main__":
    main()
