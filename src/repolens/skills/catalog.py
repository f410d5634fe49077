"""The curated table: which package, image or tool means which skill.

Only what is listed here is a skill; an unknown package is not."""

from __future__ import annotations

from enum import StrEnum


class SkillCategory(StrEnum):
    LANGUAGE = "language"
    FRAMEWORK = "framework"
    DATABASE = "database"
    TESTING = "testing"
    BUILD = "build"
    CLOUD = "cloud"
    DEVOPS = "devops"


_F, _D, _T, _B, _C, _O = (
    SkillCategory.FRAMEWORK, SkillCategory.DATABASE, SkillCategory.TESTING,
    SkillCategory.BUILD, SkillCategory.CLOUD, SkillCategory.DEVOPS,
)  # fmt: skip

# package name (lower case, "_" read as "-") -> (skill, category)
PACKAGES: dict[str, tuple[str, SkillCategory]] = {
    # Python
    "django": ("Django", _F), "flask": ("Flask", _F), "fastapi": ("FastAPI", _F),
    "starlette": ("Starlette", _F), "tornado": ("Tornado", _F), "aiohttp": ("aiohttp", _F),
    "pyramid": ("Pyramid", _F), "celery": ("Celery", _F), "dramatiq": ("Dramatiq", _F),
    "rq": ("RQ", _F), "pydantic": ("Pydantic", _F), "sqlalchemy": ("SQLAlchemy", _D),
    "alembic": ("Alembic", _D), "psycopg": ("PostgreSQL", _D), "psycopg2": ("PostgreSQL", _D),
    "psycopg2-binary": ("PostgreSQL", _D), "asyncpg": ("PostgreSQL", _D),
    "pymysql": ("MySQL", _D), "mysqlclient": ("MySQL", _D), "redis": ("Redis", _D),
    "pymongo": ("MongoDB", _D), "motor": ("MongoDB", _D), "elasticsearch": ("Elasticsearch", _D),
    "pytest": ("pytest", _T), "hypothesis": ("Hypothesis", _T), "tox": ("tox", _T),
    "nox": ("nox", _T), "coverage": ("coverage.py", _T), "pytest-cov": ("coverage.py", _T),
    "numpy": ("NumPy", _F), "pandas": ("pandas", _F), "scipy": ("SciPy", _F),
    "scikit-learn": ("scikit-learn", _F), "torch": ("PyTorch", _F),
    "tensorflow": ("TensorFlow", _F),
    "jinja2": ("Jinja", _F), "requests": ("Requests", _F), "httpx": ("HTTPX", _F),
    "boto3": ("AWS", _C), "botocore": ("AWS", _C), "google-cloud-storage": ("Google Cloud", _C),
    "azure-storage-blob": ("Azure", _C), "setuptools": ("setuptools", _B),
    "hatchling": ("Hatch", _B), "poetry-core": ("Poetry", _B), "flit-core": ("Flit", _B),
    "gunicorn": ("Gunicorn", _O), "uvicorn": ("Uvicorn", _O), "ruff": ("Ruff", _T),
    "mypy": ("mypy", _T), "black": ("Black", _T),
    # JavaScript / TypeScript
    "react": ("React", _F), "react-dom": ("React", _F), "next": ("Next.js", _F),
    "vue": ("Vue", _F), "nuxt": ("Nuxt", _F), "svelte": ("Svelte", _F),
    "@angular/core": ("Angular", _F), "express": ("Express", _F), "koa": ("Koa", _F),
    "fastify": ("Fastify", _F), "@nestjs/core": ("NestJS", _F), "socket.io": ("Socket.IO", _F),
    "typescript": ("TypeScript", SkillCategory.LANGUAGE), "jest": ("Jest", _T),
    "vitest": ("Vitest", _T), "mocha": ("Mocha", _T), "cypress": ("Cypress", _T),
    "@playwright/test": ("Playwright", _T), "webpack": ("webpack", _B), "vite": ("Vite", _B),
    "esbuild": ("esbuild", _B), "rollup": ("Rollup", _B), "tailwindcss": ("Tailwind CSS", _F),
    "prisma": ("Prisma", _D), "@prisma/client": ("Prisma", _D), "mongoose": ("MongoDB", _D),
    "pg": ("PostgreSQL", _D), "mysql2": ("MySQL", _D), "ioredis": ("Redis", _D),
    "sequelize": ("Sequelize", _D), "typeorm": ("TypeORM", _D), "eslint": ("ESLint", _T),
    "aws-sdk": ("AWS", _C),
    # Rust
    "tokio": ("Tokio", _F), "actix-web": ("Actix Web", _F), "axum": ("Axum", _F),
    "serde": ("Serde", _F), "diesel": ("Diesel", _D), "sqlx": ("SQLx", _D),
    # Go (module paths)
    "github.com/gin-gonic/gin": ("Gin", _F), "github.com/labstack/echo/v4": ("Echo", _F),
    "github.com/gofiber/fiber/v2": ("Fiber", _F), "gorm.io/gorm": ("GORM", _D),
    "github.com/lib/pq": ("PostgreSQL", _D), "github.com/jackc/pgx/v5": ("PostgreSQL", _D),
    "github.com/redis/go-redis/v9": ("Redis", _D), "github.com/stretchr/testify": ("Testify", _T),
    # Ruby
    "rails": ("Ruby on Rails", _F), "sinatra": ("Sinatra", _F), "rspec": ("RSpec", _T),
    "sidekiq": ("Sidekiq", _F), "pg-ruby": ("PostgreSQL", _D),
    # Java / Kotlin (artifact ids)
    "spring-boot-starter-web": ("Spring Boot", _F), "spring-boot-starter": ("Spring Boot", _F),
    "spring-core": ("Spring", _F), "junit-jupiter": ("JUnit", _T), "junit": ("JUnit", _T),
    "hibernate-core": ("Hibernate", _D), "postgresql": ("PostgreSQL", _D),
    "mockito-core": ("Mockito", _T),
}  # fmt: skip

# Container images (the name without registry and tag)
IMAGES: dict[str, tuple[str, SkillCategory]] = {
    "postgres": ("PostgreSQL", _D), "mysql": ("MySQL", _D), "mariadb": ("MariaDB", _D),
    "redis": ("Redis", _D), "mongo": ("MongoDB", _D), "rabbitmq": ("RabbitMQ", _D),
    "elasticsearch": ("Elasticsearch", _D), "nginx": ("nginx", _O), "python": ("Python", _O),
    "node": ("Node.js", _O), "golang": ("Go", _O), "openjdk": ("Java", _O),
    "eclipse-temurin": ("Java", _O), "ruby": ("Ruby", _O), "rust": ("Rust", _O),
    "nats": ("NATS", _D), "memcached": ("Memcached", _D), "minio/minio": ("MinIO", _C),
}  # fmt: skip

LANGUAGE_NAMES = {
    "python": "Python", "javascript": "JavaScript", "typescript": "TypeScript", "go": "Go",
    "rust": "Rust", "java": "Java", "kotlin": "Kotlin", "scala": "Scala", "ruby": "Ruby",
    "php": "PHP", "c": "C", "cpp": "C++", "csharp": "C#", "swift": "Swift", "shell": "Shell",
    "sql": "SQL", "html": "HTML", "css": "CSS", "vue": "Vue", "dart": "Dart",
    "elixir": "Elixir", "erlang": "Erlang", "haskell": "Haskell", "lua": "Lua", "r": "R",
    "perl": "Perl", "objective-c": "Objective-C", "terraform": "Terraform",
}  # fmt: skip


def package(name: str) -> tuple[str, SkillCategory] | None:
    key = name.strip().lower().replace("_", "-")
    return PACKAGES.get(key)


def image(reference: str) -> tuple[str, SkillCategory] | None:
    name = reference.split("@")[0]
    last = name.rsplit("/", 1)[-1].split(":")[0].lower()
    path = name.split(":")[0].lower().removeprefix("docker.io/").removeprefix("library/")
    return IMAGES.get(path) or IMAGES.get(last)
