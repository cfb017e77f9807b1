// The question workers: threads that claim queued questions (rag_claim_question, with a lease) and
// answer them as POST /api/chat does: prepare through SQL, release the connection, generate with the
// core (extending the lease meanwhile), then finish (rag_finish_question) or fail (rag_fail_question,
// retried a bounded number of times). Idle workers poll, and wake at once for a question queued here.
#pragma once

#include <string>
#include <thread>
#include <vector>

#include "app.hpp"

namespace pgrag::server {

class QuestionWorkers {
  public:
    explicit QuestionWorkers(App& app) : app_(app) {}
    ~QuestionWorkers() { join(); }
    QuestionWorkers(const QuestionWorkers&) = delete;
    QuestionWorkers& operator=(const QuestionWorkers&) = delete;

    // Starts options.question_workers threads.
    void start();
    // After app.question_wakeup.stop(): waits for the workers; one answering finishes first (or, past
    // the shutdown deadline, gives its question back to the queue).
    void join();

  private:
    void run(const std::string& worker);
    App& app_;
    std::vector<std::thread> threads_;
};

// This process's name for worker n in rag_questions.claimed_by: host, pid, a random tag, n.
std::string question_worker_name(int n);

}  // namespace pgrag::server
